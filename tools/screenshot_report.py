"""Render a newsletter.html in headless Chromium and save a PNG screenshot (issue 7, browser check).

Why a real browser: the unit tests prove the HTML is inert and well-formed, but only a browser
shows whether the 600px layout, inline CSS and base64 charts actually display. Usage:

    .venv/bin/python tools/screenshot_report.py data/reports/2026-11-09/newsletter.html [out.png]

Needs Debian's ``chromium`` package (or PULSE_CHROMIUM=/path/to/chrome); exits with status 3 and a
clear message when no browser is installed. JavaScript is disabled and the page loads nothing
from the network (everything is inline), so the check is safe to run on any report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    explicit = os.environ.get("PULSE_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return next((p for p in (shutil.which(c) for c in CANDIDATES) if p), None)


def screenshot(html: Path, out: Path, width: int = 680, height: int = 3600, timeout_s: float = 90) -> Path:
    browser = find_chromium()
    if browser is None:
        raise FileNotFoundError("no Chromium found (apt-get install chromium, or set PULSE_CHROMIUM)")
    if not html.is_file():
        raise FileNotFoundError(f"no such report: {html}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pulse-chromium-") as profile:
        cmd = [
            browser, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
            "--blink-settings=scriptEnabled=false", "--no-first-run", f"--user-data-dir={profile}",
            f"--window-size={width},{height}", f"--screenshot={out.resolve()}", html.resolve().as_uri(),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or len(args) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    html = Path(args[0])
    out = Path(args[1]) if len(args) == 2 else html.with_name("newsletter_screenshot.png")
    try:
        print(screenshot(html, out))
    except FileNotFoundError as exc:
        print(f"screenshot_report: {exc}", file=sys.stderr)
        return 3
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"screenshot_report: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
