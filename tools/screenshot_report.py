"""Render a newsletter.html in headless Chromium and save a PNG screenshot (issue 7, browser check).

Why a real browser: the unit tests prove the HTML is inert and well-formed, but only a browser
shows whether the 600px layout, inline CSS and base64 charts actually display. Usage:

    .venv/bin/python tools/screenshot_report.py data/reports/2026-11-09/newsletter.html [out.png]
        [--width 680] [--crop-height PX] [--max-kb KB]

The page is rendered in a tall window, then the empty page background below the newsletter is
trimmed, so the PNG shows the whole newsletter whatever its length. ``--crop-height`` keeps only
the top (for a README picture) and ``--max-kb`` re-encodes it as a 256-colour PNG to keep it small.
The README picture is made with ``--crop-height 1790 --max-kb 290`` from the demo's newsletter
(tests/test_reports_screenshot.py checks it stays under 300 KB).

Needs Debian's ``chromium`` package (or PULSE_CHROMIUM=/path/to/chrome); exits with status 3 and a
clear message when no browser or no report is there. The newsletter has no script and its own
Content-Security-Policy forbids scripts and network loads (everything is inline), so the check is
safe to run on any report. (``--blink-settings=scriptEnabled=false`` is deliberately not used:
with it, headless Chromium 156 exits 0 and writes no screenshot.) The
flags are the ones that work on a closed, root-run machine: no sandbox, no GPU, and no background
networking (else Chromium keeps dialling Google and, on some machines, writes no screenshot).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
WINDOW_HEIGHT = 9000  # tall enough for a full weekly newsletter; trimmed afterwards
TRIM_MARGIN = 16
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--force-device-scale-factor=1",
)


def find_chromium() -> str | None:
    explicit = os.environ.get("PULSE_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return next((p for p in (shutil.which(c) for c in CANDIDATES) if p), None)


def trim_bottom(png: Path, margin: int = TRIM_MARGIN) -> bool:
    """Cut the uniform page background below the content; False if the content reached the bottom
    (the page was taller than the window, so the screenshot is truncated). No-op without Pillow."""
    try:
        from PIL import Image, ImageChops
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return True
    with Image.open(png) as im:
        rgb = im.convert("RGB")
    width, height = rgb.size
    background = rgb.getpixel((width - 1, height - 1))
    diff = ImageChops.difference(rgb, Image.new("RGB", rgb.size, background)).getbbox()
    if diff is None:
        return True  # blank page: nothing to trim, nothing truncated
    bottom = diff[3]
    if bottom >= height:
        return False
    rgb.crop((0, 0, width, min(height, bottom + margin))).save(png, optimize=True)
    return True


def crop_top(png: Path, height: int) -> None:
    from PIL import Image

    with Image.open(png) as im:
        rgb = im.convert("RGB")
    if rgb.height > height:
        rgb.crop((0, 0, rgb.width, height)).save(png, optimize=True)


def compact(png: Path, max_bytes: int) -> int:
    """Re-encode as an adaptive 256-colour PNG if it is over ``max_bytes``; returns the final size.

    Why palette PNG and not JPEG: text and flat chart colours stay crisp, and a README picture of a
    mostly-white page quantises with no visible loss (MAXCOVERAGE kept every pixel within 30 levels
    on the demo report; MEDIANCUT shifted the small colour dots).
    """
    if png.stat().st_size <= max_bytes:
        return png.stat().st_size
    from PIL import Image

    with Image.open(png) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MAXCOVERAGE,
                                           dither=Image.Dither.NONE)
    small.save(png, optimize=True)
    return png.stat().st_size


def screenshot(
    html: Path, out: Path, width: int = 680, height: int = WINDOW_HEIGHT, timeout_s: float = 120
) -> Path:
    """Render ``html`` at ``width`` CSS px in headless Chromium; write ``out`` trimmed to the page."""
    browser = find_chromium()
    if browser is None:
        raise FileNotFoundError("no Chromium found (apt-get install chromium, or set PULSE_CHROMIUM)")
    if not html.is_file():
        raise FileNotFoundError(f"no such report: {html}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)  # a stale file must not pass for a fresh screenshot
    with tempfile.TemporaryDirectory(prefix="pulse-chromium-") as profile:
        cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
               f"--screenshot={out.resolve()}", html.resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    if not trim_bottom(out):
        print(f"screenshot_report: page is taller than {height}px; the screenshot is cut off",
              file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="screenshot_report.py", description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="newsletter.html to render")
    parser.add_argument("out", type=Path, nargs="?", help="PNG to write (default: next to the HTML)")
    parser.add_argument("--width", type=int, default=680, help="window width in CSS px (default 680)")
    parser.add_argument("--crop-height", type=int, help="keep only the top PX pixels")
    parser.add_argument("--max-kb", type=int, help="re-encode with 256 colours if larger than this")
    args = parser.parse_args(argv)
    if args.width < 200 or (args.crop_height is not None and args.crop_height < 100):
        parser.error("--width must be >= 200 and --crop-height >= 100")
    out = args.out or args.html.with_name("newsletter_screenshot.png")
    try:
        screenshot(args.html, out, width=args.width)
        if args.crop_height:
            crop_top(out, args.crop_height)
        if args.max_kb:
            size = compact(out, args.max_kb * 1024)
            if size > args.max_kb * 1024:
                print(f"screenshot_report: still {size // 1024} KB after compaction", file=sys.stderr)
                return 1
    except FileNotFoundError as exc:
        print(f"screenshot_report: {exc}", file=sys.stderr)
        return 3
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"screenshot_report: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
