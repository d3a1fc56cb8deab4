"""End to end: `python -m bench dashboard` serves the leaderboard to a real (headless Chromium) browser."""

from __future__ import annotations

import pytest

from bench.results.store import Store
from dashboard.launcher import CHROMIUM, CHROMIUM_ARGS, dashboard_server
from tests.support.stored import add_run, make_db

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no browser: {CHROMIUM} is missing "
                                 "(apt-get install chromium)")]
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright; "
                                 "the browser itself comes from apt)")


@pytest.fixture
def server(tmp_path):
    url = make_db(tmp_path / "results.db")
    with (tmp_path / "server.log").open("w") as log, dashboard_server(url, log) as port:
        yield url, port


def test_dashboard_shows_the_leaderboard_in_a_browser(server, tmp_path):
    url, port = server
    names = [r.label for r in Store(url, read_only=True).runs(train_fraction=1.0)]
    assert set(names) == {"baseline", "zero-shot", "layer-drop(count=2)", "layer-freeze(count=2)"}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1300})
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            # Streamlit renders after the websocket delivers the script's output: wait for content, not load.
            table = page.get_by_test_id("stDataFrame").first
            table.wait_for(timeout=90_000)
            chart = page.get_by_test_id("stVegaLiteChart").first
            for name in sorted(set(names)):
                # the grid draws on a canvas; its accessible cells carry the text
                table.get_by_role("gridcell", name=name, exact=True, include_hidden=True).first.wait_for(
                    state="attached", timeout=60_000)
                # the Pareto chart labels every strategy's point in visible SVG text
                label = chart.locator("text", has_text=name).first
                label.wait_for(state="visible", timeout=60_000)
            assert page.get_by_text("Leaderboard", exact=True).is_visible()
            assert page.get_by_text("Runs in progress or failed").count() == 1
            assert not page.get_by_test_id("stException").count()
            # a local tool, not an app to publish: no Deploy button, no developer menu
            assert page.get_by_text("Deploy", exact=True).count() == 0
            assert page.get_by_test_id("stMainMenu").count() == 0
            page.wait_for_timeout(1000)  # let the canvas paint before the screenshot
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 20_000
        finally:
            browser.close()


@pytest.fixture
def frontier_server(tmp_path):
    """The same cells, plus the baseline cut short: a ladder rung at half its steps and a control matched to
    layer-drop's time."""
    url = make_db(tmp_path / "results.db")
    store = Store(url)
    for seed in (0, 1):
        add_run(store, "equal-time", {"fraction": 0.5}, seed, 15.0, 1.15)
        add_run(store, "equal-time", {"matches": "layer-drop(count=2)"}, seed, 19.0 * (1 + 0.03 * seed), 1.1)
    with (tmp_path / "server.log").open("w") as log, dashboard_server(url, log) as port:
        yield port


def test_the_frontier_chart_draws_the_equal_time_controls_in_a_browser(frontier_server, tmp_path):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1300})
            page.goto(f"http://127.0.0.1:{frontier_server}/", wait_until="domcontentloaded")
            page.get_by_text("Better than training less?", exact=True).wait_for(timeout=90_000)
            chart = page.get_by_test_id("stVegaLiteChart").filter(has_text="baseline × 0.5")
            chart.wait_for(timeout=60_000)
            chart.scroll_into_view_if_needed()
            for text in ("zero-shot", "baseline × 0.5", "baseline at layer-drop(count=2)'s time", "baseline (full)",
                         "layer-drop(count=2)", "layer-freeze(count=2)", "share of the full baseline's training time"):
                chart.locator("text", has_text=text).first.wait_for(state="visible", timeout=60_000)
            # the line joins the four budgets; each strategy is a point of its own
            assert chart.locator("g.mark-line path").count() == 1
            assert not page.get_by_test_id("stException").count()
            page.get_by_test_id("stRadio").get_by_text("training seconds", exact=True).click()  # the other axis
            chart.locator("text", has_text="training seconds").first.wait_for(state="visible", timeout=60_000)
            assert not page.get_by_test_id("stException").count()
            shot = tmp_path / "frontier.png"
            chart.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()


def test_the_suites_progress_shows_in_a_browser(tmp_path):
    """A suite part done (as `bench status` counts it) shows its counts and its open cells on the page."""
    url = make_db(tmp_path / "results.db")
    store = Store(url)
    store.record_plan("t", [(r.model, r.train_fraction, r.seed, r.label, 1) for r in store.runs(train_fraction=1.0)]
                      + [("tiny-bert:layers=4,hidden=32,heads=2", 1.0, 9, "baseline", 1)])  # one pending cell
    with (tmp_path / "server.log").open("w") as log, dashboard_server(url, log) as port, \
            playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1300})
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            page.get_by_text("Suite progress", exact=True).wait_for(timeout=90_000)
            summary = page.get_by_text("0 running, 1 pending", exact=False).first
            summary.scroll_into_view_if_needed()
            assert summary.is_visible()
            page.get_by_text("the 1 cell not done", exact=False).first.wait_for(timeout=30_000)
            assert not page.get_by_test_id("stException").count()
        finally:
            browser.close()
