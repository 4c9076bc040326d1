from __future__ import annotations

from litestar import Controller, get, patch
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.digests import service
from devicetrack.digests.schemas import DigestsRead, DigestsUpdate


class OwnDigestsController(Controller):
    path = "/me/digests"
    tags = ["auth"]

    @get(
        "/",
        operation_id="getMyDigests",
        description=(
            "The digests by email the caller's role receives (SIMs expiring and audits due "
            "for staff and officers, overdue loans for staff, the impact report for donors), "
            "each on or off, and when each is mailed (Vietnam time). All are on by default."
        ),
    )
    async def get_(self, tx: AsyncSession, principal: Principal) -> DigestsRead:
        return await service.preferences(tx, principal)

    @patch(
        "/",
        operation_id="updateMyDigests",
        description=(
            'Turn digests on or off: `{"receive": {"overdue_loans": false}}`; those left '
            "out stay as they are. A digest the caller's role does not receive is a 422."
        ),
    )
    async def update(
        self, tx: AsyncSession, principal: Principal, data: DigestsUpdate
    ) -> DigestsRead:
        return await service.choose(tx, principal, data)
