"""No page of a project with hidden test results prints a hidden value, until someone shows
them; showing them is a look the reports count.

Every page a member reaches by following links from the project's pages is read (with the
JSON the charts fetch, every column of the runs table, the CSV export and a comparison of
every run) and searched for each hidden value in every rendering a page uses.
"""

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reports.assembly import assemble
from tests.web import hidden_project
from tests.web.hidden_project import SLUG, hidden_values, leaks, renderings
from tracker.models import MetricSummary, RevealedTestResults, Run
from tracker.query.syntax import FilterError
from tracker.services import projects as project_services
from web.visibility import reads_split

pytestmark = pytest.mark.django_db

LINK = re.compile(r'href="([^"#]*)')
PAGES_AT_MOST = 400


@pytest.fixture
def hidden(people):
    """The "Hidden figures" project; mia is a member, victor a viewer."""
    project, runs = hidden_project.build(people.olivia)
    project_services.set_member(project=project, username="mia", role="member")
    project_services.set_member(project=project, username="victor", role="viewer")
    return project, runs


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _is_a_look(url: str) -> bool:
    """Whether a link filters or sorts on test results (a look, recorded), or is not valid."""
    query = parse_qs(urlsplit(url).query)
    try:
        return reads_split(filter_text=query.get("filter", [""])[0],
                           order_by=query.get("order_by", [""])[0], judged_on="test")
    except FilterError:
        return True


def _worth_following(url: str) -> bool:
    parts = urlsplit(url)
    return (not parts.scheme and not parts.netloc
            and parts.path.startswith(("/p/", "/runs/", "/experiments/", "/account/"))
            and not _is_a_look(url))


def _read(client, url: str) -> tuple[int, str, str]:
    response = client.get(url, follow=True)
    body = (b"".join(response.streaming_content) if response.streaming
            else response.content).decode()
    return response.status_code, response.get("Content-Type", ""), body


def crawl(client, start: list[str]) -> dict[str, str]:
    """Every page reached from `start` by following links, by address."""
    pages, queue = {}, list(start)
    while queue and len(pages) < PAGES_AT_MOST:
        url = queue.pop(0)
        if url in pages:
            continue
        status, content_type, body = _read(client, url)
        assert status == 200, f"{url} answered {status}"
        pages[url] = body
        if content_type.startswith("text/html"):
            queue += [link for link in map(html.unescape, LINK.findall(body))
                      if _worth_following(link) and link not in pages]
    assert len(pages) < PAGES_AT_MOST, "the crawl did not end"
    return pages


def _every_column(client) -> list[str]:
    """Every column the runs table's chooser offers."""
    chooser = client.get(reverse("web:runs", args=[SLUG])).context["chooser"]
    return [col.field for group in chooser.values() for col, _ in group]


def _starts(client, runs) -> list[str]:
    """Where the crawl starts: the project's pages, and what forms and scripts ask for (every
    column of the runs table, its CSV, a comparison of every run, the curves charts fetch)."""
    runs_url, ids = reverse("web:runs", args=[SLUG]), [str(r.id) for r in runs.values()]
    columns = "".join(f"&col={c}" for c in _every_column(client))
    compare = reverse("web:compare", args=[SLUG]) + "?" + "&".join(f"run={i}" for i in ids)
    curves = [reverse("web:curves", args=[SLUG]) + f"?key={key}&split={split}"
              + "".join(f"&run={i}" for i in ids)
              for key, split in MetricSummary.objects.filter(run__in=runs.values())
              .values_list("key", "split").distinct()]
    return ["/", reverse("web:dashboard", args=[SLUG]), runs_url,
            f"{runs_url}?page_size=10{columns}", reverse("web:runs-csv", args=[SLUG]),
            reverse("web:runs-csv", args=[SLUG]) + "?" + columns[1:],
            compare, compare + "&diff=1", reverse("web:models", args=[SLUG]),
            reverse("web:settings", args=[SLUG]), *curves]


def test_the_hidden_values_are_told_apart_from_each_other_and_the_bar():
    every = hidden_project.all_hidden()
    texts = [text for v in every for text in renderings(v)]
    assert len(texts) == len(set(texts))
    assert not leaks("the agreed bar is 90 out of 100 (0.9)", every)


def test_no_page_prints_a_hidden_test_value(hidden, people):
    project, runs = hidden
    client = client_for(people.mia)
    pages = crawl(client, _starts(client, runs))
    assert {reverse("web:run", args=[r.id]) for r in runs.values()} <= set(pages)
    every = hidden_project.all_hidden()
    found = {url: leaks(body, every) for url, body in pages.items()}
    assert {url: texts for url, texts in found.items() if texts} == {}
    assert RevealedTestResults.objects.count() == 0  # nobody looked
    # The search finds what is shown: the best model's, the baseline's and the value the
    # verdict quotes (the earlier best model's), and the hidden ones once they are shown.
    dashboard = pages[reverse("web:dashboard", args=[SLUG])]
    assert "improved from 76.4 to 86.1" in dashboard  # the earlier best model's, and now
    assert "fails: test.latency_ms is hidden (test.latency_ms &lt;= 50)" in dashboard
    # the legacy quality guardrail on test is no longer applied, and the dashboard says so
    assert "test.recall is hidden" not in dashboard
    assert "The guardrail on recall on test is not applied" in dashboard
    for run, values in (("chosen-one", [0.861357, 31.5, 0.822]), ("status-quo", [0.702468])):
        page = pages[reverse("web:run", args=[runs[run].id])]
        assert all(leaks(page, [value]) for value in values), run
    assert leaks(pages[reverse("web:run", args=[runs["once-best"].id])], [0.764239])


def test_showing_a_runs_test_results_prints_them_and_counts_as_a_look(hidden, people):
    project, runs = hidden
    client = client_for(people.mia)
    run = runs["fast-but-wrong"]
    run_url, dashboard_url = reverse("web:run", args=[run.id]), reverse("web:dashboard",
                                                                          args=[SLUG])
    assert not leaks(client.get(dashboard_url).content.decode(), [137.913])
    client.post(reverse("web:reveal-test", args=[SLUG]), {"run": str(run.id), "next": run_url})
    page = client.get(run_url).content.decode()
    assert all(leaks(page, [v]) for v in hidden_values()["fast-but-wrong"])
    dashboard = client.get(dashboard_url).content.decode()
    assert "test.latency_ms is 137.9 (test.latency_ms &lt;= 50)" in dashboard
    assert not leaks(dashboard, hidden_values()["also-ran"])
    looks = assemble(project=project, period_start=timezone.now() - timedelta(days=7),
                     period_end=timezone.now() + timedelta(minutes=1)).snapshot["test_looks"]
    assert (looks["looks"], looks["runs"]) == (1, 1)
    assert looks["sentence"].startswith("Test results of runs other than the best model and "
                                        "the baseline were looked at once in this period")


def test_the_leaderboard_offers_to_show_the_values_it_hides(hidden, people):
    project, runs = hidden
    client = client_for(people.victor)  # a viewer may look too
    response = client.get(reverse("web:dashboard", args=[SLUG]))
    assert response.context["leaderboard_hidden"] == [str(runs["fast-but-wrong"].id)]
    form = re.search(r'<form[^>]*id="leaderboard-reveal-form".*?</form>',
                     response.content.decode(), re.S).group(0)
    fields = dict(re.findall(r'name="(run|next)" value="([^"]*)"', form))
    client.post(reverse("web:reveal-test", args=[SLUG]), fields)
    dashboard = client.get(reverse("web:dashboard", args=[SLUG]))
    assert dashboard.context["leaderboard_hidden"] == []
    assert "test.latency_ms is 137.9 (test.latency_ms &lt;= 50)" in dashboard.content.decode()
    assert RevealedTestResults.objects.get().run_ids == [str(runs["fast-but-wrong"].id)]


def test_a_comparison_offers_to_show_only_the_values_it_hides(hidden, people):
    project, runs = hidden
    Run.objects.filter(pk=runs["status-quo"].pk).update(tags={"stage": "hidden"})
    compared = [runs[name].id for name in ("status-quo", "once-best", "chosen-one")]
    response = client_for(people.mia).get(reverse("web:compare", args=[SLUG]),
                                          {"run": [str(i) for i in compared]})
    assert response.context["hidden_runs"] == [str(runs["once-best"].id)]
    cells = {(section["title"], row["label"]): [c["hidden"] for c in row["cells"]]
             for section in response.context["rows"] for row in section["rows"]}
    assert cells[("Tags", "stage")] == [False, False, False]  # a tag reading "hidden" is shown
    metrics = "Metrics (value at each run's best step)"
    assert cells[(metrics, "test · f1")] == [False, False, False]  # once-best's is quoted
    assert cells[(metrics, "test · latency_ms")] == [False, True, False]


def _csv(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_a_csv_with_test_results_is_a_recorded_look_at_every_exported_run(hidden, people):
    project, runs = hidden
    client = client_for(people.mia)
    csv_url = reverse("web:runs-csv", args=[SLUG]) + "?" + "&".join(
        f"col={c}" for c in _every_column(client))
    plain = _csv(client.get(csv_url))
    assert "hidden" in plain and not leaks(plain, hidden_project.all_hidden())
    assert 'form="csv-reveal-form"' in client.get(reverse("web:runs", args=[SLUG])).content.decode()
    with_results = _csv(client.post(csv_url))
    # Each test value at the run's best step (the last point of also-ran's test loss).
    assert all(repr(value) in with_results for value in hidden_project.all_hidden()
               if value not in (2.46813, 1.97531))
    looked_at = {runs[name].id for name in hidden_values()}
    assert {str(i) for i in looked_at} == set(RevealedTestResults.objects.get().run_ids)
    looks = assemble(project=project, period_start=timezone.now() - timedelta(days=7),
                     period_end=timezone.now() + timedelta(minutes=1)).snapshot["test_looks"]
    assert (looks["looks"], looks["runs"]) == (1, len(looked_at))
    # The look lasts the session: the table shows them now, and a second export is no look.
    assert leaks(client.get(reverse("web:run", args=[runs["also-ran"].id])).content.decode(),
                 [0.672468])
    assert _csv(client.post(csv_url)) == with_results
    assert RevealedTestResults.objects.count() == 1


def _words_drawn(page) -> str:
    """The page's text as drawn (the charts' labels included), the words of its attributes
    (titles, labels; not the shapes' coordinates, which are no figures) and the data each
    chart holds, which its hover text shows."""
    return page.evaluate("""() => [document.body.textContent, ...[...document.querySelectorAll(
        '*')].flatMap(e => [...e.attributes].filter(a => !['d', 'transform', 'points', 'x',
        'y', 'width', 'height', 'style', 'viewBox', 'x1', 'x2', 'y1', 'y2', 'dx', 'dy']
        .includes(a.name)).map(a => a.value)), ...[...document.querySelectorAll(
        '.js-plotly-plot')].map(chart => JSON.stringify(chart.data))].join(' ')""")


def _wait_for_charts(page):
    page.wait_for_function("document.querySelectorAll('.chart[data-loaded=true]').length"
                           " >= document.querySelectorAll('.chart-card .chart').length")


def test_the_drawn_pages_print_no_hidden_value(hidden, page, live_server, login, shoot):
    """What the browser shows once the charts are drawn (axis labels, legends, status lines,
    the data hover text reads): the dashboard, the runs table, a comparison of every run and
    the page of a run whose test results are hidden."""
    project, runs = hidden
    login("mia")
    every = hidden_project.all_hidden()
    page.goto(f"{live_server.url}{reverse('web:dashboard', args=[SLUG])}")
    page.wait_for_selector("#progress-chart .main-svg")
    shoot(page, "hidden-dashboard")
    assert leaks(_words_drawn(page), every) == []
    assert "test.latency_ms is hidden" in page.inner_text("#leaderboard-title ~ .table-wrap")
    page.goto(f"{live_server.url}{reverse('web:runs', args=[SLUG])}")
    shoot(page, "hidden-runs")
    assert leaks(_words_drawn(page), every) == []
    page.goto(f"{live_server.url}{reverse('web:compare', args=[SLUG])}?"
              + "&".join(f"run={r.id}" for r in runs.values()))
    _wait_for_charts(page)
    shoot(page, "hidden-compare")
    assert leaks(_words_drawn(page), every) == []
    page.goto(f"{live_server.url}{reverse('web:run', args=[runs['also-ran'].id])}")
    _wait_for_charts(page)
    shoot(page, "hidden-run")
    assert leaks(_words_drawn(page), every) == []
    assert page.locator("td.hidden-value").count() == 5
