"""What a repeat of a keyed request gets back (the value list of idempotency_keys.kept)."""

from enum import StrEnum


class Kept(StrEnum):
    ANSWER = "answer"  # status, headers and body replayed byte for byte
    STREAMED = "streamed"  # a stream is not kept: the request runs again (it changes nothing)
    SECRET = "secret"  # an answer carrying a secret shown once: a repeat is refused (409)
    # An answer that named a student whose personal data was since erased: its body is
    # dropped with the rest of the child's data; a repeat is refused (409), not run again.
    ERASED = "erased"
