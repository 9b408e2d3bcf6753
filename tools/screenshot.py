"""Renders a run's index.html in headless Chromium to a PNG: the README's picture of a real report.

    python tools/screenshot.py reports/screenshot/index.html docs/report.png

`nox -s screenshot` runs a conformance run first, then this. Exit 1 if Chromium fails or writes nothing.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTH, HEIGHT = 1280, 2200  # the matrix, the expected failures and the first exports' plots


def render(html: Path, png: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is not installed: `apt-get install -y chromium` (nox -s screenshot installs it as root)")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                               f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}",
                               f"--screenshot={png.resolve()}", html.resolve().as_uri()],
                              capture_output=True, text=True, timeout=180)
    if done.returncode != 0 or not png.exists() or png.stat().st_size == 0:
        sys.exit(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    print(f"{png}: {png.stat().st_size:,} bytes, {html} at {WIDTH}x{HEIGHT}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    render(Path(sys.argv[1]), Path(sys.argv[2]))
