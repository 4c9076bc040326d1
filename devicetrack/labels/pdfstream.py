"""A PDF written page by page, for label sheets of any length in flat memory.

reportlab's canvas keeps every page of a document in memory until it saves (and then
builds the whole file in memory too): a sheet of 815,000 labels took 550 MB. Here each
page's content stream is compressed and written to the output as soon as the page is full,
and only what the end of the file needs is kept: one file offset per object, one object
number per page, the text forms (one per distinct programme and donor · kind line) and the
fonts' character subsets.

Text uses reportlab's TrueType support for what it is good at: measuring, assigning each
character a code in a subset of at most 256 (`TTFont.splitString`), and cutting those
subsets out of the font file (`makeSubset`) when the document ends, so Vietnamese keeps its
diacritics and the text can be extracted (each subset carries a ToUnicode map).
"""

from __future__ import annotations

import zlib
from typing import Any, BinaryIO

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import FF_NONSYMBOLIC, FF_SYMBOLIC, SUBSETN, makeToUnicodeCMap

# Bytes of a text string as a PDF literal: backslash and parentheses escaped, and every
# byte outside printable ASCII as an octal escape (a raw CR inside a string reads as LF).
_LITERAL = {
    b: ("\\" + chr(b) if chr(b) in "\\()" else chr(b) if 32 <= b < 127 else f"\\{b:03o}")
    for b in range(256)
}


PAGE_LEVEL = 1  # zlib's level for the pages' content streams


def _literal(data: bytes) -> str:
    return "(" + "".join([_LITERAL[b] for b in data]) + ")"


def _pdf_text(text: str) -> str:
    """A string for the document's information dictionary (UTF-16 with a BOM)."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


class PageStream:
    """The writer. Use `text` and `form` to build operators, `add_page` to write a page,
    `close` to finish the file; `out` only ever gets appended to."""

    def __init__(self, out: BinaryIO, width: float, height: float, title: str) -> None:
        self._out = out
        self._written = 0
        self._offsets: list[int] = []  # the file offset of object n + 1
        self._kids: list[int] = []
        self._size = f"[0 0 {width:.2f} {height:.2f}]"
        self._title = title
        self._fonts: dict[str, tuple[str, Any]] = {}  # font name → (resource prefix, TTFont)
        self._forms: dict[str, int] = {}  # resource name → object number
        self._catalog = self._reserve()
        self._pages = self._reserve()
        self._resources = self._reserve()
        self._info = self._reserve()
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    # ---- objects -------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._written += len(data)

    def _reserve(self) -> int:
        self._offsets.append(-1)
        return len(self._offsets)

    def _object(self, number: int, body: str | bytes) -> None:
        self._offsets[number - 1] = self._written
        data = body.encode("latin-1") if isinstance(body, str) else body
        self._write(b"%d 0 obj\n" % number + data + b"\nendobj\n")

    def _stream(
        self, number: int, entries: str, data: bytes, compress: bool = True, level: int = -1
    ) -> None:
        if compress:
            data = zlib.compress(data, level)
            entries += " /Filter /FlateDecode"
        self._object(
            number,
            b"<< "
            + entries.encode("latin-1")
            + b" /Length %d >>\nstream\n" % len(data)
            + data
            + b"\nendstream",
        )

    # ---- text and forms --------------------------------------------------------------

    def _font(self, name: str) -> tuple[str, Any]:
        if name not in self._fonts:
            self._fonts[name] = (f"F{len(self._fonts) + 1}", pdfmetrics.getFont(name))
        return self._fonts[name]

    def text(self, font: str, size: float, x: float, y: float, text: str) -> str:
        """Operators that show `text` with its baseline starting at (x, y)."""
        prefix, ttf = self._font(font)
        shown = "".join(
            f"/{prefix}+{subset} {size:.2f} Tf {_literal(data)} Tj"
            for subset, data in ttf.splitString(text, self)
        )
        return f"BT 1 0 0 1 {x:.2f} {y:.2f} Tm {shown} ET"

    def form(self, width: float, height: float, operators: str) -> str:
        """Write a form XObject drawn once and placed on many labels; its resource name."""
        name = f"X{len(self._forms)}"
        number = self._reserve()
        self._stream(
            number,
            f"/Type /XObject /Subtype /Form /BBox [0 0 {width:.2f} {height:.2f}] "
            f"/Resources {self._resources} 0 R",
            operators.encode("latin-1"),
        )
        self._forms[name] = number
        return name

    # ---- pages -----------------------------------------------------------------------

    def add_page(self, operators: list[str]) -> None:
        content = self._reserve()
        # The fastest level: a page of labels is mostly path operators that repeat (bars,
        # QR rows), which even level 1 shrinks 4-5×; the default level took a quarter of
        # a 10,000-label sheet's time once each label carried a QR code.
        self._stream(content, "", "\n".join(operators).encode("latin-1"), level=PAGE_LEVEL)
        page = self._reserve()
        self._object(
            page,
            f"<< /Type /Page /Parent {self._pages} 0 R /MediaBox {self._size} "
            f"/Resources {self._resources} 0 R /Contents {content} 0 R >>",
        )
        self._kids.append(page)

    @property
    def pages(self) -> int:
        return len(self._kids)

    def close(self) -> None:
        fonts = {}
        for prefix, ttf in self._fonts.values():
            state = ttf.state.pop(self, None)
            for n, subset in enumerate(state.subsets if state is not None else []):
                fonts[f"{prefix}+{n}"] = self._font_subset(ttf, n, subset)
        font_dict = " ".join(f"/{name} {number} 0 R" for name, number in fonts.items())
        forms = " ".join(f"/{name} {number} 0 R" for name, number in self._forms.items())
        self._object(
            self._resources,
            f"<< /ProcSet [/PDF /Text] /Font << {font_dict} >> /XObject << {forms} >> >>",
        )
        kids = " ".join(f"{k} 0 R" for k in self._kids)
        self._object(self._pages, f"<< /Type /Pages /Count {len(self._kids)} /Kids [{kids}] >>")
        self._object(self._catalog, f"<< /Type /Catalog /Pages {self._pages} 0 R >>")
        self._object(
            self._info,
            f"<< /Title {_pdf_text(self._title)} /Producer {_pdf_text('devicetrack')} >>",
        )
        xref = self._written
        lines = [f"xref\n0 {len(self._offsets) + 1}\n0000000000 65535 f \n"]
        lines += [f"{offset:010d} 00000 n \n" for offset in self._offsets]
        lines.append(
            f"trailer\n<< /Size {len(self._offsets) + 1} /Root {self._catalog} 0 R "
            f"/Info {self._info} 0 R >>\nstartxref\n{xref}\n%%EOF\n"
        )
        self._write("".join(lines).encode("latin-1"))

    def _font_subset(self, ttf: Any, n: int, subset: list[int]) -> int:
        """One ≤256-character subset of a TrueType font as a simple font (what reportlab's
        own TTFont.addObjects writes)."""
        face = ttf.face
        base = (SUBSETN(n) + b"+" + face.name + face.subfontNameX).decode("latin-1")
        program = face.makeSubset(subset)
        file_number = self._reserve()
        self._stream(file_number, f"/Length1 {len(program)}", program)
        descriptor = self._reserve()
        flags = (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC
        bbox = " ".join(str(v) for v in face.bbox)
        self._object(
            descriptor,
            f"<< /Type /FontDescriptor /FontName /{base} /Flags {flags} /FontBBox [{bbox}] "
            f"/Ascent {face.ascent} /Descent {face.descent} /CapHeight {face.capHeight} "
            f"/ItalicAngle {face.italicAngle} /StemV {face.stemV} "
            f"/MissingWidth {face.defaultWidth} /FontFile2 {file_number} 0 R >>",
        )
        to_unicode = self._reserve()
        self._stream(to_unicode, "", makeToUnicodeCMap(base, subset).encode("latin-1"))
        widths = " ".join(str(face.getCharWidth(code)) for code in subset)
        font = self._reserve()
        self._object(
            font,
            f"<< /Type /Font /Subtype /TrueType /BaseFont /{base} "
            f"/FirstChar 0 /LastChar {len(subset) - 1} /Widths [{widths}] "
            f"/FontDescriptor {descriptor} 0 R /ToUnicode {to_unicode} 0 R >>",
        )
        return font
