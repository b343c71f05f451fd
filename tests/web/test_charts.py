"""The web UI's charts: the axes the server works out (web/charts.py) and what the browser
draws from them, on a new project whose three runs were logged within seconds."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_run
from tests.web.conftest import LAPTOP
from tracker.services import metrics as metric_services
from tracker.services import projects as project_services
from tracker.services import runs as run_services

SLUG = "quick-look"
TARGET = {"metric": "f1", "direction": "maximize", "threshold": 0.85, "judged_on": "test",
          "selected_on": "validation"}
CURVE = [round(0.6 + 0.25 * (1 - 0.75 ** step), 4) for step in range(12)]


def quick_look(owner, *, spread: timedelta | None = None):
    """A baseline at 0, a run with a curve and a test F1 logged once after training (at its
    last step), and a short run; ended as they are logged, or `spread` apart."""
    project = project_services.create_project(user=owner, slug=SLUG, name="Quick look",
                                              target=dict(TARGET))
    runs = {}
    runs["majority"] = make_run(project, owner, name="majority", experiment="majority class",
                                baseline=True, finish=None,
                                series={"validation.f1": 0.0, "test.f1": 0.0})
    runs["logreg"] = make_run(project, owner, name="logreg", experiment="tf-idf",
                              finish=None, series={"validation.f1": CURVE})
    metric_services.log_batch(run=runs["logreg"], metrics=[
        {"key": "f1", "split": "test", "step": 11, "value": 0.83,
         "timestamp": int(timezone.now().timestamp() * 1000)}])
    runs["svm"] = make_run(project, owner, name="svm", experiment="svm", finish=None,
                           series={"validation.f1": [0.7, 0.78, 0.81], "test.f1": 0.8})
    start = timezone.now() - 3 * (spread or timedelta(0))
    for i, run in enumerate(runs.values()):
        run_services.finish_run(run=run, ended_at=start + i * spread if spread else None)
    return project, runs


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_dashboard_chart_of_runs_logged_within_seconds_reads_in_run_order(owner):
    quick_look(owner)
    chart = client_for(owner).get(reverse("web:dashboard", args=[SLUG])).context["chart"]
    assert chart["x_axis"]["type"] == "order"
    assert chart["x_axis"]["names"] == ["majority", "logreg", "svm"]
    assert chart["x_axis"]["title"].startswith("runs in the order they ended (all within ")
    assert chart["dots"]["x"] == [1, 2, 3] and chart["winner"]["x"] == 2
    low, high = chart["y_axis"]["range"]
    assert 0.6 < low < 0.81 and 0.85 < high < 0.95  # fitted to the runs and the bar
    assert chart["y_axis"]["off_scale"] == [
        {"side": "below", "text": "▼ baseline: 0 (below the chart)"}]


@pytest.mark.django_db
def test_the_dashboard_chart_of_runs_over_days_has_a_time_axis(owner):
    _, runs = quick_look(owner, spread=timedelta(days=1))
    chart = client_for(owner).get(reverse("web:dashboard", args=[SLUG])).context["chart"]
    ended = [int(r.ended_at.timestamp() * 1000) for r in
             (run.__class__.objects.get(id=run.id) for run in runs.values())]
    assert chart["x_axis"]["type"] == "date" and chart["dots"]["x"] == ended
    low, high = chart["x_axis"]["range"]
    assert low < ended[0] and high > ended[-1]  # the first and last dots are drawn whole


@pytest.mark.django_db
def test_curves_of_the_target_metric_carry_the_bar_and_fitted_axes(owner):
    _, runs = quick_look(owner)
    response = client_for(owner).get(reverse("web:curves", args=[SLUG]), {
        "key": "f1", "split": "validation", "run": [str(r.id) for r in runs.values()]}).json()
    chart_axes = response["axes"]
    assert chart_axes["bar"] == {"y": 0.85, "text": "agreed bar on test: 0.85"}
    low, high = chart_axes["y"]["range"]
    assert 0.55 < low < 0.6 and 0.85 < high < 0.95
    assert chart_axes["y"]["off_scale"] == [
        {"side": "below", "text": "▼ majority (baseline): 0 (below the chart)"}]
    assert chart_axes["step_range"] == [-0.5, 11.5]
    times = [t for trace in response["traces"] for t in trace["time"]]
    low, high = chart_axes["time_range"]  # logreg's points are a second apart
    assert low < min(times) and high > max(times)


@pytest.mark.django_db
@pytest.mark.parametrize(("apart_ms", "by_time"), [(1, False), (60_000, True)])
def test_wall_time_is_drawn_only_when_it_spreads_the_points(owner, apart_ms, by_time):
    _, runs = quick_look(owner)
    metric_services.log_batch(run=runs["logreg"], metrics=[
        {"key": "loss", "split": "train", "step": step, "value": 1 / (step + 1),
         "timestamp": 1_800_000_000_000 + step * apart_ms} for step in range(3)])
    chart_axes = client_for(owner).get(reverse("web:curves", args=[SLUG]), {
        "key": "loss", "split": "train", "run": str(runs["logreg"].id)}).json()["axes"]
    assert chart_axes["bar"] is None  # not the target's metric
    if by_time:
        assert chart_axes["time_range"] == [
            pytest.approx(1_800_000_000_000 - 4800), pytest.approx(1_800_000_120_000 + 4800)]
        assert chart_axes["time_note"] == ""
    else:
        assert chart_axes["time_range"] is None
        assert chart_axes["time_note"] == ("wall time cannot spread these curves (each was "
                                           "logged within a second): drawn by step")


@pytest.mark.django_db
def test_params_against_the_metric_are_not_drawn_when_no_param_differs(owner):
    _, runs = quick_look(owner)
    response = client_for(owner).get(reverse("web:compare", args=[SLUG]),
                                     {"run": [str(r.id) for r in runs.values()]})
    assert response.context["chart_config"]["parcoords"]["dimensions"] == []
    assert ("No param differs between these runs, so there is nothing to draw against f1 on "
            "validation.") in response.content.decode()
    assert 'id="parcoords"' not in response.content.decode()


def chart_of(page, selector: str) -> dict:
    return page.evaluate(
        "s => { const el = document.querySelector(s);"
        " return {data: el.data, layout: el.layout}; }", selector)


def test_a_new_projects_charts_in_the_browser(page, live_server, people, login, shoot):
    """Three runs within seconds: the dashboard draws them in order against the bar, and
    the run page draws the test score logged once as a labelled marker at its step."""
    _, runs = quick_look(people.olivia)
    page.set_viewport_size(LAPTOP)
    login("olivia")
    page.goto(f"{live_server.url}/p/{SLUG}/")
    page.wait_for_selector("#progress-chart .main-svg")
    shoot(page, "charts-new-project-dashboard")
    drawn = chart_of(page, "#progress-chart")
    assert drawn["layout"]["xaxis"]["ticktext"] == ["majority", "logreg", "svm"]
    assert drawn["layout"]["yaxis"]["range"][0] > 0.6
    dots = drawn["data"][0]
    assert dots["x"] == [2, 3] and dots["cliponaxis"] is False  # the baseline is named instead
    assert any("baseline: 0" in a["text"] for a in drawn["layout"]["annotations"])

    page.goto(f"{live_server.url}/runs/{runs['logreg'].id}/")
    page.wait_for_selector(".chart-card .chart[data-loaded=true]")
    shoot(page, "charts-new-project-run")
    drawn = chart_of(page, ".chart-card .chart")
    test = next(t for t in drawn["data"] if t["name"] == "test")
    assert (test["mode"], test["x"], test["text"]) == ("markers+text", [11], ["test: 0.83"])
    assert test["cliponaxis"] is False
    low, high = drawn["layout"]["yaxis"]["range"]
    assert low < 0.6 and 0.85 < high < 0.9
    assert drawn["layout"]["xaxis"]["range"] == [-0.5, 11.5]
