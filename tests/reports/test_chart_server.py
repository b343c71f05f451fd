"""A worker started before Chromium was installed draws charts as soon as it is there,
without a restart (reports/pdf.py looks for it again at each export)."""

import logging
import shutil

import pytest

from reports import pdf
from reports.rendering import draw_charts

FIGURE = {"data": [{"type": "scatter", "x": [0, 1], "y": [0, 1]}],
          "layout": {"width": 120, "height": 100}}


@pytest.fixture
def fresh_chart_server(monkeypatch):
    """This process's chart server as a worker has it at start, stopped afterwards."""
    pdf.stop_chart_server()
    monkeypatch.setattr(pdf, "_state", {"started": False, "missing": False, "broken": ""})
    yield
    pdf.stop_chart_server()


def test_charts_come_back_once_chromium_is_installed(fresh_chart_server, monkeypatch,
                                                     tmp_path, caplog):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("needs Chromium (apt-get install chromium)")
    browser = tmp_path / "bin" / "chromium"
    monkeypatch.setenv("BROWSER_PATH", str(browser))  # not installed yet

    with caplog.at_level(logging.ERROR, logger="reports"):
        pdf.start_chart_server(warm_up=False)  # as the worker starts
        drawn = draw_charts({"progress": FIGURE, "runs": FIGURE})
    assert drawn["progress"]["error"].startswith(
        "This chart could not be drawn: no Chromium was found on this machine")
    assert [r.message for r in caplog.records if r.name == "reports.pdf"] == [
        f"charts are unavailable: {pdf.MISSING}"]  # said once, not once per chart

    browser.parent.mkdir()
    browser.symlink_to(chromium)  # installed while the worker runs

    drawn = draw_charts({"progress": FIGURE})
    assert drawn["progress"]["image"].startswith("data:image/svg+xml;base64,")
