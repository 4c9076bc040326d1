"""A printed record as plain data: what each page says, already in the reader's language.

The records (handover minutes, loan agreements, class loan sheets, disposal records) are
built from the database by paper/service.py and drawn by paper/render.py in a worker
process, so everything here is made of strings and tuples (it crosses to that process
pickled). The shape is the Vietnamese administrative one (Decree 30/2020/NĐ-CP): the
issuing body and the national motto side by side, place and date, a centred title, the
text, and signature blocks; each sheet starts on a new page."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Text:
    """A paragraph; `lead` is set in bold before it ("Party A: …")."""

    text: str
    lead: str = ""
    style: str = "body"  # body, heading, small, item


@dataclass(frozen=True)
class Table:
    """A ruled table; `widths` are fractions of the text width, `header` repeats on every
    page it runs over."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]
    padding: float = 3  # points above and below each cell's text (room to sign in)


@dataclass(frozen=True)
class Signer:
    title: str  # "FOR PARTY A"
    hint: str  # "(signature and full name)"
    name: str = ""  # printed under the space for the signature, when known


Block = Text | Table


@dataclass(frozen=True)
class Picture:
    """A signature drawn on a phone or a photo of the signed paper (custody/evidence.py),
    drawn after the signature blocks; `data` is a PNG or JPEG already checked."""

    data: bytes
    caption: str


@dataclass(frozen=True)
class Sheet:
    issuer: tuple[str, ...]  # the issuing body, top left; the last line is the number
    nation: tuple[str, str]  # the national name and motto, top right
    place_date: str
    title: str
    subtitle: str
    blocks: tuple[Block, ...]
    signers: tuple[Signer, ...]
    link: str  # what the QR code opens
    link_caption: str
    pictures: tuple[Picture, ...] = ()
    pictures_title: str = ""


@dataclass(frozen=True)
class Document:
    title: str  # the PDF's title (its metadata)
    sheets: tuple[Sheet, ...] = field(default_factory=tuple)
