"""The Production tab: the status and its sentence first, what is live since when, the live
results against the bar, the drift table opening a feature's histograms, the business
results, and what to send when something is missing."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from tests.web.conftest import LAPTOP, PHONE
from tests.web.production_data import WEEK, last_monday, seed_production
from tracker.selectors import winner as winner_selectors
from tracker.services import deployments as deployment_services
from web import charts


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _json(page: str, element_id: str):
    return json.loads(page.split(f'id="{element_id}" type="application/json">')[1]
                      .split("</script>")[0])


def _page(user, slug) -> str:
    response = _client(user).get(reverse("web:production", args=[slug]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_address_is_pinned():
    assert reverse("web:production", args=["p1"]) == "/p/p1/production/"


@pytest.mark.django_db
def test_outsiders_get_404_and_every_member_reads_it(demo):
    seed_production(demo.project, demo.olivia)
    url = reverse("web:production", args=[demo.slug])
    response = _client(demo.oscar).get(url)
    assert response.status_code == 404 and b"ticket length" not in response.content
    assert Client().get(url)["Location"].startswith("/login/?next=")
    for user in (demo.olivia, demo.mia, demo.victor):
        page = _page(user, demo.slug)
        assert 'aria-current="page">Production</a>' in page
        assert 'id="drift-table"' in page


@pytest.mark.django_db
def test_the_tab_reads_status_live_results_drift_and_business_results(demo):
    seed_production(demo.project, demo.olivia)
    page = _page(demo.victor, demo.slug)
    # The status and its sentence first, then the chart, then the drift.
    assert page.index('id="production-status"') < page.index('id="live-chart"') < \
        page.index('id="drift-table"') < page.index('id="impact-list"')
    assert ('<span class="production-badge production-slipping" id="production-status">'
            "Slipping</span>") in page
    assert ("on 315 checked tickets last week the model scored 84.7 out of 100 on F1") in page
    assert ("It is slipping: its first result just under the bar. One input has shifted "
            "markedly since training: ticket length. Retraining is recommended.") in page
    winner = winner_selectors.standing(project=demo.project).winner
    assert (f'run <a href="/runs/{winner.id}/">{winner.name}</a>; the agreed bar is 0.85 on '
            "F1 score, and it scored 0.851 on test.") in page
    assert "<td>production</td>" in page  # the deployments timeline

    # The live windows: the week with 64 checked tickets is drawn apart, hollow.
    chart = _json(page, "live-data")
    assert chart["counted"]["y"] == [0.862, 0.859, 0.86, 0.855, 0.853, 0.851, 0.847]
    assert chart["too_few"]["y"] == [0.857]
    assert chart["too_few"]["text"][0].endswith(": 0.857 on 64 checked tickets")
    assert (chart["threshold"], chart["test_value"]) == (0.85, pytest.approx(0.851))

    # The drift of the latest week, most drifted first, PSI to 4 decimals, band in words.
    table = page[page.index('id="drift-table"'):page.index("</table>", page.index(
        'id="drift-table"'))]
    assert [row.split('data-feature="')[1].split('"')[0]
            for row in table.split("<tr ")[1:]] == ["ticket length", "channel", "hour"]
    assert ('<td class="num">0.3006</td>\n            <td><span class="band '
            'band-significant">significant</span>') in table
    assert table.count('<td class="num">0.0000</td>') == 2  # the channel and hour stayed put
    drift = _json(page, "drift-data")
    length = drift["features"]["ticket length"]
    assert length["bins"] == ["0–50", "50–100", "100–200", "200–400", "400–800", "800–2000"]
    assert (length["reference"][0], length["live"][0]) == (0.12, 0.04)
    assert length["psi"]["y"][0] == 0.0 and length["psi"]["y"][-1] == 0.3006
    assert len(length["psi"]["y"]) == 8 and "prediction" not in drift["features"]
    assert '<tr><td>billing</td><td class="num">39.0 %</td><td class="num">38.2 %</td>' in page

    # The A/B test: its sentence, verdict and interval.
    assert "In the A/B test from" in page and "a real improvement." in page
    assert '<span class="verdict impact-improvement">Real improvement</span>' in page
    assert "95 % interval: 3.4 to 6.5 points), a real improvement." in page
    assert ("Difference: <strong>+5.0 points</strong> (95 % interval: +3.4 to +6.5 points)"
            in page)

    # The dashboard's live line and deployments card lead here.
    dashboard = _client(demo.victor).get(reverse("web:dashboard", args=[demo.slug]))
    dashboard = dashboard.content.decode()
    url = reverse("web:production", args=[demo.slug])
    assert f'<a href="{url}">See how it does in production</a>' in dashboard
    assert dashboard.count(f'href="{url}"') == 3  # with the tab and the deployments card


@pytest.mark.django_db
def test_empty_states_say_what_to_send(demo):
    page = _page(demo.victor, demo.slug)
    assert 'id="production-status">No results</span>' in page
    assert "Nothing is live in production yet" in page and "tl.Api().deploy(project, run_id)" \
        in page
    assert 'id="live-chart"' not in page and "No business results yet" in page
    assert "plotly" not in page  # nothing to draw: the script is not loaded

    winner = winner_selectors.standing(project=demo.project).winner
    deployment = deployment_services.start_deployment(
        project=demo.project, user=demo.olivia, environment="production",
        run_id=str(winner.id), started_at=last_monday() - WEEK)
    page = _page(demo.victor, demo.slug)
    assert "No live results yet: post them with <code>tl.Api().log_live(" in page
    assert "The deployed run has no reference profile of its inputs" in page
    assert 'id="production-status">No results</span>' in page

    deployment_services.record_live_result(
        deployment=deployment, window_start=last_monday() - WEEK, window_end=last_monday(),
        metrics={"accuracy": 0.91}, count=500, labelled=200)
    page = _page(demo.victor, demo.slug)
    assert "None of the 1 live result posted measures f1, the target metric" in page


def test_a_reader_opens_a_features_histograms(page, live_server, demo, login, shoot):
    seed_production(demo.project, demo.olivia)
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(
        (live_server.url, "data:", "blob:")) else problems.append(r.url))
    login("victor")
    page.set_viewport_size(LAPTOP)
    page.goto(f"{live_server.url}/p/{demo.slug}/production/")
    expect(page.locator("#production-status")).to_have_text("Slipping")
    expect(page.locator("#live-chart")).to_have_attribute("data-loaded", "true")
    detail = page.locator("#feature-detail")
    # The most drifted input is open from the start; a click on another row opens it.
    expect(detail).to_have_attribute("data-feature", "ticket length")
    page.locator("#drift-table tbody tr[data-feature=channel] td.num").click()
    expect(detail).to_have_attribute("data-feature", "channel")
    expect(page.locator("#feature-title")).to_have_text(
        "channel: in training and live (share of cases per category)")
    expect(page.locator("#histogram-chart .trace.bars")).to_have_count(2)
    expect(page.locator("#histogram-chart .xtick")).to_have_count(4)
    page.locator("#drift-table tbody tr[data-feature='ticket length'] button").click()
    expect(page.locator("#histogram-chart .xtick").first).to_have_text("0–50")
    expect(page.locator("#drift-table tr.selected")).to_have_attribute(
        "data-feature", "ticket length")
    shoot(page, "production-tab")
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator("#feature-detail")).to_have_attribute("data-feature", "ticket length")
    expect(page.locator("#live-chart")).to_have_attribute("data-loaded", "true")
    shoot(page, "production-tab-phone")
    # Usable on a phone: nothing but tables and charts wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert problems == []  # no script error, nothing fetched from elsewhere (plotly included)


def test_histogram_bins_are_named_short_but_apart():
    edges = [3.531, 4.1884, 4.1887, 6.766]
    feature = {"kind": "numeric", "edges": edges, "counts": [5, 5, 5]}
    found = charts.feature_histograms(reference={"features": {"ink": feature}},
                                      live={"features": {"ink": feature}}, readings=[],
                                      today=None)
    assert found["features"]["ink"]["bins"] == ["3.531–4.188", "4.188–4.189", "4.189–6.766"]
    feature["edges"] = [3.531, 4.188, 6.766, 800]
    found = charts.feature_histograms(reference={"features": {"ink": feature}},
                                      live={"features": {"ink": feature}}, readings=[],
                                      today=None)
    assert found["features"]["ink"]["bins"] == ["3.53–4.19", "4.19–6.77", "6.77–800"]
