"""Every email devicetrack writes: its subject and the values its templates use.

A message is composed with exactly the values its template declares (service.compose
refuses others), so nothing more than the template shows can reach a recipient or the
mail_messages table. No template here names a student; one that ever does must set
`names_students`, and its sender must check that every recipient may see each student
(auth.scope) — as the pages do — before composing it.

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

WEBHOOK_DISABLED = MailTemplate(
    name="webhook_disabled",
    subject=N_("Your devicetrack webhook was turned off"),
    fields=frozenset({"full_name", "url", "webhook_id", "days"}),
)

TEMPLATES: dict[str, MailTemplate] = {
    t.name: t for t in (PASSWORD_RESET, INVITATION, PASSWORD_CHANGED, WEBHOOK_DISABLED)
}
