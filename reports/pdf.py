"""Charts to SVG through one persistent Chromium per process, and HTML to PDF with WeasyPrint.

Launching Chromium costs 3-4 s; an export through a running one costs 0.2-0.3 s. So each
Celery worker process starts kaleido's sync server once (worker_process_init, see
reports/tasks.py), warms it up in the background, and stops it when the process ends
(worker_process_shutdown). Anything else that renders (``sendreport --sync``, the
benchmark) starts it on first use.

Every export goes through one lock (kaleido's sync server answers one caller at a time)
and waits at most REPORT_CHART_TIMEOUT seconds: if Chromium stops answering, the report is
rendered without that chart, with a sentence saying so, rather than not at all.
"""

import base64
import io
import logging
import os
import threading
from dataclasses import dataclass

import kaleido
from choreographer.browsers.chromium import Chromium
from django.conf import settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# started: this process's Chromium runs. missing: none was found at the last look (it is
# looked for again at each export, so charts come back once one is installed, without a
# restart). broken: the running one stopped answering (only a restart helps).
_state = {"started": False, "missing": False, "broken": ""}
MISSING = ("no Chromium was found on this machine (install the chromium package, or set "
           "BROWSER_PATH)")


class ChartUnavailable(Exception):
    """A chart could not be exported; the message says why, for the report and the log."""


def _chromium_path() -> str | None:
    """The Chromium kaleido would start, if it is there: BROWSER_PATH, else the usual names
    on PATH and the usual places."""
    try:
        path = Chromium.find_browser(skip_local=False)
    except Exception:  # noqa: BLE001 - a detection failure must not stop a report
        return None
    # BROWSER_PATH is taken as it is written: a name that does not exist (yet) is no browser
    if path and os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    return None


def start_chart_server(*, warm_up: bool = True) -> None:
    """Start this process's Chromium for chart exports (idempotent).

    Without a Chromium, says so in the log once (and once more when one appears), and
    leaves the next export to look again. With `warm_up`, a tiny export runs in a
    background thread so Chromium is up before the first report asks for it;
    worker_process_init must return quickly, so it cannot wait.
    """
    with _lock:
        if _state["started"]:
            return
        path = _chromium_path()
        if path is None:
            if not _state["missing"]:
                logger.error("charts are unavailable: %s", MISSING)
            _state["missing"] = True
            return
        if _state["missing"]:
            logger.warning("Chromium found at %s: reports have their charts again", path)
        kaleido.start_sync_server(mathjax=False, silence_warnings=True)
        _state.update(started=True, missing=False, broken="")
    if warm_up:
        threading.Thread(target=_warm_up, name="kaleido-warm-up", daemon=True).start()


def _warm_up() -> None:
    try:
        figure_to_svg({"data": [{"type": "scatter", "x": [0, 1], "y": [0, 1]}],
                       "layout": {"width": 100, "height": 100}})
    except ChartUnavailable as exc:
        logger.error("chart warm-up failed: %s", exc)


def stop_chart_server() -> None:
    """Stop this process's Chromium (worker_process_shutdown)."""
    with _lock:
        if _state["started"] and not _state["broken"]:
            kaleido.stop_sync_server(silence_warnings=True)
        _state["started"] = False


def figure_to_svg(figure: dict) -> str:
    """A plotly figure (dict) as SVG text, sized by its layout's width and height."""
    if not _state["started"]:
        start_chart_server(warm_up=False)
        if not _state["started"]:
            raise ChartUnavailable(MISSING)
    layout = figure.get("layout", {})
    opts = {"format": "svg", "width": layout.get("width", 760),
            "height": layout.get("height", 320)}
    timeout = settings.REPORT_CHART_TIMEOUT
    with _lock:
        if _state["broken"]:
            raise ChartUnavailable(_state["broken"])
        result: dict = {}

        def export() -> None:
            try:
                result["svg"] = kaleido.calc_fig_sync(figure, opts=opts)
            except Exception as exc:  # noqa: BLE001 - reported to the caller below
                result["error"] = exc

        worker = threading.Thread(target=export, name="kaleido-export", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            # Chromium hangs: this process cannot export any more. Say so, loudly, and let
            # the report go out without charts until the worker is restarted.
            _state["broken"] = (f"the chart renderer stopped answering for {timeout} s; "
                                "restart the worker")
            logger.error("charts are unavailable: %s", _state["broken"])
            raise ChartUnavailable(_state["broken"])
    if "error" in result:
        raise ChartUnavailable(f"the chart could not be drawn ({result['error']})")
    svg = result["svg"]
    return svg.decode() if isinstance(svg, bytes) else svg


def svg_data_uri(svg: str) -> str:
    """An SVG as a data: URI for <img>, so stored HTML is self-contained.

    Images rather than inline <svg>: plotly reuses element ids in every figure, which
    would clash when several are inlined in one page.
    """
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@dataclass(frozen=True)
class Pdf:
    content: bytes
    pages: int


def html_to_pdf(html: str) -> Pdf:
    """Render the report's HTML (A4, page numbers in the margins) to PDF bytes."""
    # Imported on first use, not at the top: WeasyPrint loads Pango at import (0.7 s, and an
    # OSError where Pango is not installed), and every web process imports this module.
    from weasyprint import HTML

    document = HTML(string=html, base_url=str(settings.BASE_DIR)).render()
    out = io.BytesIO()
    document.write_pdf(out)
    return Pdf(out.getvalue(), len(document.pages))
