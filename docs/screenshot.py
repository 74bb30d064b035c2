"""The README's picture: a demo employee report, photographed by headless Chromium.

    make screenshot            # or: .venv/bin/python docs/screenshot.py

Runs the demo first when its report is not there yet (``kpinb demo``: the demo
workspace in ``demo-workspace/``, the reports in ``reports/``), then opens
``reports/2026-Q3/employees/E002.html`` (a steady improver of the demo) in
Chromium without a window and writes ``docs/img/employee-report.png``, close-ups of
the charts and the first screens of an employee's and a team's page and of the index at
1200 and 390 px (``docs/img/one-screen-*.png``, ``docs/img/index-*.png``). Chromium
must be installed (``apt-get install -y chromium``; ``make screenshot`` does it).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")


def main(argv: list[str] | None = None) -> int:
    """Make the screenshot; 0 when written, 1 when Chromium or the report is missing."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, default=REPO / "demo-workspace")
    parser.add_argument("--reports", type=Path, default=REPO / "reports")
    parser.add_argument("--period", default="2026-Q3")
    parser.add_argument("--employee", default="E002", help="the demo employee to show")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "employee-report.png")
    parser.add_argument("--size", default="1200,2400", help="window width,height in pixels")
    args = parser.parse_args(argv)

    page = args.reports / args.period / "employees" / f"{args.employee}.html"
    if not page.is_file():
        print(f"{page} is not there yet: running the demo first", file=sys.stderr)
        command = [sys.executable, "-m", "kpinb", "demo", "--out", str(args.workspace)]
        subprocess.run([*command, "--reports", str(args.reports)], cwd=REPO, check=True)
    if not page.is_file():
        print(f"the demo wrote no {page}", file=sys.stderr)
        return 1
    browser = next((found for b in BROWSERS if (found := shutil.which(b))), None)
    if browser is None:
        print("Chromium is not installed: apt-get install -y chromium", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={args.size}",
            f"--screenshot={args.out.resolve()}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
    )
    print(f"wrote {args.out}")
    for wrote in chart_closeups(args.reports / args.period, args.out.parent, args.employee):
        print(f"wrote {wrote}")
    for wrote in first_screens(args.reports / args.period, args.out.parent, args.employee):
        print(f"wrote {wrote}")
    return 0


# close-ups of the charts (docs/img/): (page, width in px, which chart on it, file name)
CLOSEUPS = (
    ("employees/{employee}.html", 1200, 1, "chart-employee-trend.png"),
    ("teams/T01.html", 1200, 1, "chart-team-trend.png"),  # after the goal chart
    ("teams/T01.html", 390, 4, "chart-team-multiples-390.png"),
)
# the first screens (docs/img/): (page, width, height in px, file name)
FIRST_SCREENS = (
    ("employees/{employee}.html", 1200, 800, "one-screen-employee-1200.png"),
    ("employees/{employee}.html", 390, 900, "one-screen-employee-390.png"),
    ("teams/T01.html", 1200, 800, "one-screen-team-1200.png"),
    ("teams/T01.html", 390, 900, "one-screen-team-390.png"),
    ("index.html", 1200, 800, "index-1200.png"),
    ("index.html", 390, 900, "index-390.png"),
)


def chart_closeups(period_dir: Path, folder: Path, employee: str) -> list[Path]:
    """One PNG per chart of :data:`CLOSEUPS`: its KPI card, photographed by Chromium over
    the DevTools pipe (kpinb.batch.formats.pdf, the network cut)."""
    import base64

    from kpinb.batch.formats.pdf import Browser

    written = []
    with Browser() as browser:
        for page_path, width, index, name in CLOSEUPS:
            page_file = period_dir / page_path.format(employee=employee)
            if not page_file.is_file():
                continue
            page = browser.new_page(width, 900)
            page.open(page_file.resolve().as_uri())
            box = page.evaluate(
                f"(() => {{ const f = document.querySelectorAll('figure.chart')[{index}];"
                " const e = f.closest('.card') || f; const r = e.getBoundingClientRect();"
                " return [r.x, r.y + window.scrollY, r.width, r.height]; })()"
            )
            x, y, w, h = box
            clip = {"x": x, "y": y, "width": w, "height": h, "scale": 1}
            shot = page.call(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": True, "clip": clip},
            )
            page.close()
            out = folder / name
            out.write_bytes(base64.b64decode(shot["data"]))
            written.append(out)
    return written


def first_screens(period_dir: Path, folder: Path, employee: str) -> list[Path]:
    """One PNG per page and width of :data:`FIRST_SCREENS`: what a reader sees before
    scrolling."""
    from kpinb.batch.formats.pdf import Browser

    written = []
    with Browser() as browser:
        for page_path, width, height, name in FIRST_SCREENS:
            page_file = period_dir / page_path.format(employee=employee)
            if not page_file.is_file():
                continue
            page = browser.new_page(width, height)
            page.open(page_file.resolve().as_uri())
            written.append(page.screenshot(folder / name, full_page=False))
            page.close()
    return written


if __name__ == "__main__":
    sys.exit(main())
