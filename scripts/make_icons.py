"""Draw the app's icons once (they are committed; run again only to change them):

    uv run python scripts/make_icons.py

A tablet on the brand's blue with a tick on its screen: favicon.ico (16, 32 and 48 px) and
the web app manifest's icon-192.png and icon-512.png, in devicetrack/web/icons/ (served
from /static/ with the rest). Drawn at 1024 px and scaled down, so the small sizes stay
smooth; no text, so no font is needed."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

STATIC = Path(__file__).resolve().parents[1] / "devicetrack" / "web" / "icons"
BRAND = (11, 83, 148, 255)  # --brand in app.css
WHITE = (255, 255, 255, 255)
TICK = (30, 107, 48, 255)  # --ok in app.css
SIZE = 1024


def draw() -> Image.Image:
    icon = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    pen = ImageDraw.Draw(icon)
    # Full-bleed rounded square: also fine for Android's masks (the tablet sits well inside).
    pen.rounded_rectangle((0, 0, SIZE - 1, SIZE - 1), radius=200, fill=BRAND)
    # The tablet: a white body with a light screen and a home button.
    pen.rounded_rectangle((262, 170, 762, 854), radius=70, fill=WHITE)
    pen.rectangle((312, 240, 712, 730), fill=(230, 240, 250, 255))
    pen.ellipse((482, 766, 542, 826), fill=BRAND)
    # A tick on the screen: the device is accounted for.
    pen.line([(380, 490), (475, 590), (650, 390)], fill=TICK, width=64, joint="curve")
    return icon


def main() -> None:
    big = draw()
    for size in (192, 512):
        # A 64-colour palette keeps the edges smooth at a third of the bytes (3G).
        small = big.resize((size, size), Image.Resampling.LANCZOS)
        small.quantize(64, method=Image.Quantize.FASTOCTREE).save(
            STATIC / f"icon-{size}.png", optimize=True
        )
    big.resize((256, 256), Image.Resampling.LANCZOS).save(
        STATIC / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)]
    )
    for name in ("favicon.ico", "icon-192.png", "icon-512.png"):
        print(name, (STATIC / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
