"""The XLSX reader's child process: python-calamine reads the first sheet, rows go back.

Run as a script (`python -I xlsx_child.py PATH MEMORY MAX_ROWS MAX_COLUMNS MAX_CHARS MAX_TEXT`) by
common/tabular.py, never imported by the server: calamine builds a dense grid from the
sheet's first to its last cell, so two cells at A1 and XFD1048576 in a 1.6 KB file ask for
17 billion cells and the allocation failure aborts the whole process. Here that process is
this child, limited to MEMORY bytes of address space; the server only loses the upload.

It imports nothing of devicetrack (importing the package costs seconds) and writes only
msgpack frames (4-byte big-endian length, then the body) to stdout:
  {"first_row": n, "height": h, "width": w}   the sheet's extent (rows numbered from 1)
  {"rows": [[str, ...], ...]}                 up to 1,000 rows of cell texts at a time
  {"rows": [...], "lost": [[row, column]], "lost_count": n, "end": true}   the last frame
  {"error": "unreadable" | "memory" | "text"}  instead of (the rest of) the above

"text": the cells' texts together passed MAX_TEXT characters (the server's
upload_max_xlsx_bytes). The zip's declared sizes do not bound them: one shared string of
4,000 characters named by every cell is stored once and sent once per cell (an 845 KB
file came to 1.3 billion characters). The child stops there, before sending more.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Callable
from typing import Any

import msgspec

# Excel keeps numbers as doubles: from 16 digits on, the last ones are lost. The server
# refuses such cells (tabular.LOST_DIGITS); this child reports where they are.
LOSSY_NUMBER = 1e15
BATCH = 1000
# At most this many cells with lost digits are located (errors.MAX_LISTED_ERRORS: no more
# are listed); the rest are only counted.
MAX_LOST = 1000


def cell_text(value: object, max_chars: int) -> str:
    """A cell as the text the server checks. Longer than `max_chars` is cut to one more
    character than allowed, so the server still sees that it is too long."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif hasattr(value, "isoformat"):
        iso = value.isoformat()
        text = iso[:10] if type(value).__name__ == "datetime" else iso
    else:
        text = str(value)
    if len(text) > max_chars:
        text = text[: max_chars + 1]
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def _limit_memory(limit: int) -> None:
    try:
        import resource
    except ImportError:  # not on Windows; the server runs on Linux
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def read(
    path: str,
    max_rows: int,
    max_columns: int,
    max_chars: int,
    max_text: int,
    send: Callable[[Any], None],
) -> None:
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_path(path)
        sheet = book.get_sheet_by_index(0)
    except MemoryError:
        send({"error": "memory"})
        return
    except Exception:  # calamine raises many types for a damaged file
        send({"error": "unreadable"})
        return
    start = sheet.start
    first_row = (start[0] if start else 0) + 1
    height, width = sheet.height, sheet.width
    send({"first_row": first_row, "height": height, "width": width})
    if height > max_rows + 1 or width > max_columns:
        return  # the server refuses the file from the extent alone
    batch: list[list[str]] = []
    lost: list[list[int]] = []
    lost_count = 0
    text = 0  # characters of the cells read so far
    for number, values in enumerate(sheet.iter_rows(), start=first_row):
        for index, value in enumerate(values):
            if isinstance(value, int | float) and abs(value) >= LOSSY_NUMBER:
                lost_count += 1
                if len(lost) < MAX_LOST:
                    lost.append([number, index])
        cells = [cell_text(v, max_chars) for v in values]
        text += sum(map(len, cells))
        if text > max_text:
            send({"error": "text"})
            return
        batch.append(cells)
        if len(batch) == BATCH:
            send({"rows": batch})
            batch = []
    send({"rows": batch, "lost": lost, "lost_count": lost_count, "end": True})


def main(argv: list[str]) -> None:
    path = argv[1]
    memory, max_rows, max_columns, max_chars, max_text = (int(a) for a in argv[2:7])
    _limit_memory(memory)
    out = sys.stdout.buffer
    encode = msgspec.msgpack.Encoder().encode

    def send(message: Any) -> None:
        body = encode(message)
        out.write(len(body).to_bytes(4, "big"))
        out.write(body)
        out.flush()

    try:
        read(path, max_rows, max_columns, max_chars, max_text, send)
    except MemoryError:
        send({"error": "memory"})
    except BrokenPipeError:
        pass  # the server stopped reading (it refused the file already)


if __name__ == "__main__":
    main(sys.argv)
