"""Every email devicetrack writes: its subject and the values its templates use.

A message is composed with exactly the values its template declares (service.compose
refuses others), so nothing more than the template shows can reach a recipient or the
mail_messages table. Only the overdue-loans digest names students: it sets
`names_students`, and its sender (digests/mailings.py) reads the loans as the recipient,
through the service that names students only to the school's own staff, as the pages do.

Subjects and the templates' texts are English msgids, put in the reader's language by
the translator the worker is given (devicetrack/worker.py)."""

from __future__ import annotations

from dataclasses import dataclass

from devicetrack.i18n import N_


@dataclass(frozen=True)
class MailTemplate:
    name: str
    subject: str  # an English msgid; may use the values as {placeholders}
    fields: frozenset[str]
    names_students: bool = False


PASSWORD_RESET = MailTemplate(
    name="password_reset",
    subject=N_("Reset your devicetrack password"),
    fields=frozenset({"full_name", "link", "valid_minutes"}),
)
INVITATION = MailTemplate(
    name="invitation",
    subject=N_("You are invited to devicetrack"),
    fields=frozenset({"full_name", "link", "code", "role", "inviter", "valid_days", "login"}),
)
PASSWORD_CHANGED = MailTemplate(
    name="password_changed",
    subject=N_("Your devicetrack password was changed"),
    fields=frozenset({"full_name", "link"}),
)

# The digests (digests/mailings.py); `account` links to where a reader turns one off.
DIGEST_SIMS = MailTemplate(
    name="digest_sims",
    subject=N_("SIM data plans ending within 30 days: {total}"),
    fields=frozenset({"full_name", "account", "link", "total", "groups", "attached"}),
)
DIGEST_LOANS = MailTemplate(
    name="digest_loans",
    subject=N_("Loans past their due date: {total}"),
    fields=frozenset({"full_name", "account", "total", "schools"}),
    names_students=True,
)
DIGEST_AUDITS = MailTemplate(
    name="digest_audits",
    subject=N_("Schools due for an audit: {total}"),
    fields=frozenset({"full_name", "account", "link", "total", "days", "schools"}),
)
DIGEST_DONOR = MailTemplate(
    name="digest_donor",
    subject=N_("The impact of your donations, {period}"),
    fields=frozenset(
        {
            "full_name",
            "account",
            "link",
            "donor",
            "period",
            "date",
            "devices",
            "schools",
            "communes",
            "students",
            "students_now",
        }
    ),
)

WEBHOOK_DISABLED = MailTemplate(
    name="webhook_disabled",
    subject=N_("Your devicetrack webhook was turned off"),
    fields=frozenset({"full_name", "url", "webhook_id", "days"}),
)

TEMPLATES: dict[str, MailTemplate] = {
    t.name: t
    for t in (
        PASSWORD_RESET,
        INVITATION,
        PASSWORD_CHANGED,
        DIGEST_SIMS,
        DIGEST_LOANS,
        DIGEST_AUDITS,
        DIGEST_DONOR,
        WEBHOOK_DISABLED,
    )
}
