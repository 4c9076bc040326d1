"""The carrier's list of SIMs to top up, one row per SIM, soonest first: the columns and
rows of the workbook the province's SIM page offers (sims-list.xlsx) and the officers'
daily digest attaches, in the reader's language."""

from __future__ import annotations

from typing import Any, Protocol

from devicetrack.common.spreadsheet import DAY, Column
from devicetrack.i18n import N_
from devicetrack.reports.schemas import SimToTopUp

TITLE = N_("SIMs to top up")
FILENAME = "sims-to-top-up.xlsx"


class Words(Protocol):
    """The reader's language: sentences (English msgids) and stored codes as words."""

    def __call__(self, text: str, **values: Any) -> str: ...
    def word(self, value: str | None) -> str: ...


def sims_to_top_up_table(
    sims: list[SimToTopUp], t: Words
) -> tuple[list[Column], list[tuple[Any, ...]]]:
    header = [
        *(
            Column(t(h))
            for h in (N_("Asset tag"), N_("Phone number"), "ICCID", N_("Carrier"), N_("Plan"))
        ),
        Column(t(N_("Plan expires")), DAY),
        Column(t(N_("School"))),
        Column(t(N_("Installed in"))),
    ]
    rows = [
        (
            s.asset_tag,
            s.msisdn,
            s.iccid,
            t.word(s.carrier) if s.carrier else None,
            s.plan_name,
            s.plan_expires_on,
            s.school_name if s.school_id else t(N_("Province stock")),
            s.installed_in,
        )
        for s in sims
    ]
    return header, rows
