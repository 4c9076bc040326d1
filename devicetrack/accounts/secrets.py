"""The one-time secrets of accounts: reset links and invitation codes (stored as SHA-256)."""

from __future__ import annotations

import re
import secrets
import unicodedata

from devicetrack.auth.secrets import new_token, token_digest

# Crockford's base32: no I, L, O or U, so a code read off paper is typed right; 16 of
# them are 80 bits, and wrong codes are throttled per address.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
_TYPED_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
# RFC 6761 reserves .invalid: the sign-in name of someone without email is never a mailbox.
NO_MAILBOX_DOMAIN = "khong-email.invalid"


def new_reset_token() -> str:
    return new_token("rs")


def reset_digest(token: str) -> str:
    return token_digest(token.strip())


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def show_code(code: str) -> str:
    """ABCD-EFGH-JKMN-PQRS: four groups a person can read out and type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def code_digest(typed: str) -> str:
    """The same digest whatever the case, dashes, spaces or an O typed for a 0."""
    plain = re.sub(r"[\s-]", "", typed).upper().translate(_TYPED_AS)
    return token_digest(f"invitation:{plain}")


def made_up_login(full_name: str) -> str:
    """A sign-in name for someone without email: their name without diacritics and a
    number, e.g. lo.thi.mai.482@khong-email.invalid."""
    folded = unicodedata.normalize("NFKD", full_name.replace("đ", "d").replace("Đ", "D"))
    ascii_name = folded.encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_name)
    base = ".".join(words)[:30].strip(".") or "nguoi-dung"
    return f"{base}.{secrets.randbelow(900) + 100}@{NO_MAILBOX_DOMAIN}"
