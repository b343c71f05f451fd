"""A check-in report of a project with a model in production: page 1's "In production" (the
status, its sentence, the live chart), the later "Production" part (drift, the model's
answers, the business results of the period), the production verdicts and the web UI's
verdict; and a project without a deployment, whose report is unchanged.

Page 1 of the sample project in production is pinned word for word in test_first_pages.py.
"""

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from reports import rendering
from reports.assembly import assemble, current_verdict
from reports.pdf import html_to_pdf
from reports.sample_first_pages import in_production
from tests.factories import make_run
from tracker.services import deployments as deployment_services
from tracker.services import impact as impact_services
from web.project_verdict import project_verdict

pytestmark = pytest.mark.django_db

PRODUCTION_PAGE = [
    "Production",
    "Inputs compared with the training data",
    "One input has shifted markedly since training: ticket length.",
    "How far each input of the latest live profile (last week) has moved from the training "
    "data, by its population stability index (PSI): below 0.10 stable, 0.10 to 0.25 shifted "
    "somewhat, above 0.25 shifted markedly.",
    "Input PSI Since training ticket length 0.29 shifted markedly channel 0.00 stable "
    "language 0.00 stable",
    "During this period, ticket length went from shifted somewhat to shifted markedly (PSI "
    "0.22 to 0.29).",
    "The model's answers",
    'The model\'s answers in the latest live profile: "technical" 42 % (35 % in training), '
    '"billing" 35 % (40 % in training), "account" 23 % (25 % in training). Their mix is still '
    "close to training (PSI 0.02).",
    "Business results of this period",
    "One A/B test or backtest ended in this period:",
    "In the A/B test from 21 November to 5 December (12,400 tickets), first-contact "
    "resolution went from 71.0 % to 76.0 %: 5.0 points better (95 % interval: 3.4 to 6.5 "
    "points), a real improvement.",
    "Progress towards the target",
]


def _pages(sample, *, charts: bool = True) -> tuple[dict, list[str]]:
    """The sample's report: its snapshot, and each page's text as a reader quotes it."""
    assembled = assemble(project=sample.project, period_start=sample.start,
                         period_end=sample.end, time_zone=sample.time_zone)
    drawn = (rendering.draw_charts(assembled.figures) if charts else
             {name: {"error": "This chart was not drawn in this test."}
              for name in assembled.figures})
    pdf = html_to_pdf(rendering.render_html(snapshot=assembled.snapshot, drawn=drawn))
    pages = [re.sub(r"\s+", " ", page.extract_text().replace("•", " ").replace("\xa0", " "))
             for page in PdfReader(io.BytesIO(pdf.content)).pages]
    return {**assembled.snapshot, "figures": assembled.figures}, pages


def test_the_later_page_says_what_drifted_the_answers_and_the_business_results():
    sample = in_production()
    snapshot, pages = _pages(sample)
    assert len(pages) == 3
    assert " ".join(PRODUCTION_PAGE) in pages[1]
    # Page 1 is full with the live results: the next experiment opens page 2.
    assert "Next step What the team is trying next: training on the last two months of " \
        "tickets brings it back above the bar." in pages[1]
    assert "Next step" not in pages[0]
    assert snapshot["production"]["status"] == "below the bar"
    assert [row["band"] for row in snapshot["production"]["drift"]["rows"]] == [
        "significant", "stable", "stable"]


def test_the_live_chart_draws_every_window_against_the_test_figure_and_the_bar():
    sample = in_production()
    figure = assemble(project=sample.project, period_start=sample.start,
                      period_end=sample.end, time_zone=sample.time_zone).figures["live"]
    counted, too_few = figure["data"]
    assert (counted["name"], too_few["name"]) == ("Live, on checked cases",
                                                  "Too few checked cases (not counted)")
    assert counted["y"] == pytest.approx([88, 87.6, 87.2, 86.6, 86.1, 84.6, 83.4])
    assert too_few["y"] == pytest.approx([87])  # 80 checked tickets: not counted
    assert [(s["y0"], s["line"]["dash"]) for s in figure["layout"]["shapes"]] == [
        (85, "dash"), (87, "dot")]
    assert [n["text"] for n in figure["layout"]["annotations"]] == ["agreed bar 85",
                                                                    "test set 87"]


def test_a_business_result_outside_the_period_is_left_out():
    sample = in_production()
    deployment = sample.project.deployments.get()
    impact_services.record_impact(
        project=sample.project, user=deployment.created_by, kind="backtest",
        metric="first-contact resolution", direction="maximize", deployment_id=deployment.pk,
        control={"successes": 50, "n": 100}, treatment={"successes": 60, "n": 100},
        started_at=sample.start - timedelta(days=20), ended_at=sample.start - timedelta(days=1))
    snapshot, _ = _pages(sample, charts=False)
    items = snapshot["production"]["impact"]["items"]
    assert len(items) == 1 and items[0].startswith("In the A/B test from 21 November")


def _deployed(project, owner):
    """The best model (87 out of 100 on test, against a bar of 85), live for 15 days."""
    run = make_run(project, owner, name="svm", series={"validation.f1": 0.88,
                                                       "test.f1": 0.87,
                                                       "test.latency_ms": 5})
    return deployment_services.start_deployment(
        project=project, user=owner, environment="production", run_id=str(run.pk),
        started_at=timezone.now() - timedelta(days=15))


def test_without_live_results_that_count_the_verdict_is_the_targets(project, owner):
    deployment = _deployed(project, owner)
    deployment_services.record_live_result(
        deployment=deployment, window_start=timezone.now() - timedelta(days=7),
        window_end=timezone.now() - timedelta(hours=1), metrics={"f1": 0.80}, count=100,
        labelled=40)
    now = timezone.now()
    snapshot = assemble(project=project, period_start=now - timedelta(days=7),
                        period_end=now).snapshot
    assert snapshot["verdict"]["kind"] == "met"
    assert snapshot["production"]["status_label"] == "No live results yet"
    assert snapshot["production"]["sentence"].endswith(
        "no result yet on at least 100 checked cases (the latest had 40), so we cannot say "
        "how the model does.")


def test_the_web_ui_shows_the_production_verdict(project, owner):
    deployment = _deployed(project, owner)
    for week, f1 in enumerate((0.88, 0.86)):
        start = timezone.now() - timedelta(days=14 - 7 * week)
        deployment_services.record_live_result(
            deployment=deployment, window_start=start, window_end=start + timedelta(days=7),
            metrics={"f1": f1}, count=1000, labelled=300)
    shown = project_verdict(project=project)
    assert (shown.key, shown.label) == ("holding", "Holding in production")
    assert shown.sentence == ("In production, the model's F1 score is 86 out of 100 on the "
                              "latest 300 checked cases, at or above the agreed bar of 85 (87 "
                              "on the test set).")
    assert current_verdict(project=project).kind == "holding"


def test_a_report_without_a_deployment_has_no_production_part(with_runs):
    now = timezone.now()
    assembled = assemble(project=with_runs, period_start=now - timedelta(days=7),
                         period_end=now)
    snapshot = assembled.snapshot
    assert snapshot["production"] is None and "live" not in assembled.figures
    assert [m["label"] for m in snapshot["verdict"]["meanings"]] == [
        "Target met", "On track", "At risk", "No progress"]
    html = rendering.render_html(snapshot=snapshot, drawn={
        name: {"error": "not drawn"} for name in assembled.figures})
    body = html.split("<body", 1)[1]
    assert "production" not in body.lower()
    assert 'class="gloss"' in body  # page 1 keeps the glosses it has without a deployment
