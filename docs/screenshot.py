"""Screenshot the dashboard on a results database: `python docs/screenshot.py --db sqlite:///results.db`.

Starts `python -m bench dashboard` on a free port, waits in headless Chromium until the leaderboard and the
Pareto chart have rendered, and writes docs/dashboard.png (the README's picture). `--chart N --out FILE` writes
the page's N-th chart alone, in page order: 0 the Pareto chart; then, where the cell has `equal-time` runs, the
frontier of training less; then, on a data-size suite, the chart against training-set size. `--chart NAME` picks
one by name wherever it is: pareto, frontier, size.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from dashboard.frontier import AXES
from dashboard.launcher import CHROMIUM, CHROMIUM_ARGS, dashboard_server

ROOT = Path(__file__).resolve().parent.parent
# Each named chart by text only it draws (an axis title).
CHARTS = {"pareto": "training-time reduction vs baseline", "frontier": AXES["share"], "size": "training pairs"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="results database URL")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    parser.add_argument("--chart", help=f"screenshot only the page's N-th chart (0 = the first) or one of "
                        f"{', '.join(CHARTS)}")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with dashboard_server(args.db, subprocess.DEVNULL) as port:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1300})
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            page.get_by_test_id("stDataFrame").first.wait_for(timeout=90_000)
            page.get_by_test_id("stVegaLiteChart").first.wait_for(timeout=90_000)
            page.wait_for_timeout(2000)  # let the grid's canvas paint
            if args.chart is None:
                page.screenshot(path=str(args.out))
            else:
                charts = page.get_by_test_id("stVegaLiteChart")
                chart = (charts.nth(int(args.chart)) if args.chart.isdigit()
                         else charts.filter(has_text=CHARTS[args.chart]).first)
                chart.wait_for(timeout=60_000)
                chart.scroll_into_view_if_needed()
                page.wait_for_timeout(1000)
                box = chart.bounding_box()  # a concatenated chart draws its legend past its element's box
                page.screenshot(path=str(args.out), clip={"x": box["x"], "y": box["y"], "width": min(
                    1500 - box["x"], box["width"] + 360), "height": box["height"]})
            browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
