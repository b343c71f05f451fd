"""The web UI in a real browser: Playwright drives Debian's Chromium against a live server
on the test database (PostgreSQL in CI)."""

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from reports import checkins as report_checkins
from tests.web.conftest import LAPTOP, PASSWORD, PHONE
from tests.web.data import SCRIPT_NAME
from tracker.models import RevealedTestResults, Run
from tracker.selectors import winner as winner_selectors


def wait_for_charts(page, count: int | None = None):
    """Wait until every curve chart on the page has drawn (or `count` of them)."""
    charts = page.locator(".chart-card .chart")
    total = charts.count() if count is None else count
    page.wait_for_function(
        "n => document.querySelectorAll('.chart-card .chart[data-loaded=true]').length >= n",
        arg=total, timeout=20_000)


def test_logging_in_shows_the_projects_a_user_can_see(page, live_server, demo, shoot):
    page.goto(f"{live_server.url}/p/{demo.slug}/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    shoot(page, "login")
    page.fill("#id_username", "victor")
    page.fill("#id_password", "wrong password")
    page.click("button[type=submit]")
    expect(page.locator(".errorlist")).to_contain_text("correct username and password")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/p/{demo.slug}/")  # back where they wanted
    page.goto(f"{live_server.url}/")
    card = page.locator(".project-card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Support ticket routing")
    expect(card).to_contain_text("At least 85 out of 100 on F1, judged on the test set")
    expect(card.locator(".verdict")).to_have_text(
        re.compile("Target met|On track|At risk|No progress"))
    expect(card.locator("[role=progressbar]")).to_be_visible()
    expect(card).to_contain_text("last run started")
    page.click("text=Log out")
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_filtering_and_sorting_the_runs_table(page, live_server, demo, login, shoot):
    login("olivia")
    page.goto(f"{live_server.url}/p/{demo.slug}/runs/")
    page.fill("#filter", 'params.model = "logreg" and validation.f1 > 0.75')
    page.click("#filter-form button[type=submit]")
    expected = Run.objects.filter(project=demo.project, params__model="logreg",
                                  summaries__key="f1", summaries__split="validation",
                                  summaries__best_value__gt=0.75).count()
    assert 0 < expected < len(demo.runs)
    rows = page.locator("#runs-table tbody tr")
    expect(rows).to_have_count(expected)
    expect(page.locator(".toolbar strong")).to_have_text(f"{expected} runs match")
    for text in rows.locator("td:nth-child(3)").all_inner_texts():
        assert text.strip() == "tf-idf + logistic regression"
    # Sort by validation F1: the header link keeps the filter and sorts best first.
    page.click("#runs-table thead >> text=validation · f1")
    expect(page).to_have_url(re.compile(r"order_by=-validation\.f1"))
    values = [float(v) for v in page.locator(
        "#runs-table tbody td:nth-child(6)").all_inner_texts()]
    assert values == sorted(values, reverse=True) and len(values) == expected
    assert parse_qs(urlsplit(page.url).query)["filter"] == [
        'params.model = "logreg" and validation.f1 > 0.75']
    shoot(page, "runs-filtered")


def test_a_bad_filter_shows_its_error_at_its_position(page, live_server, demo, login):
    login("olivia")
    page.goto(f"{live_server.url}/p/{demo.slug}/runs/")
    page.fill("#filter", 'validation.f1 > and status = "finished"')
    page.click("#filter-form button[type=submit]")
    error = page.locator("#filter-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("at position 16")
    expect(error.locator("mark")).to_have_text("a")  # the character the parser stopped at
    caret = error.locator(".caret").inner_text()
    assert caret == " " * 16 + "^"
    filter_box = page.locator("#filter")
    expect(filter_box).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("document.activeElement.id") == "filter"
    assert page.evaluate("document.getElementById('filter').selectionStart") == 16
    expect(page.locator("#runs-table")).to_have_count(0)


def test_selecting_three_runs_and_comparing_them(page, live_server, demo, login, shoot):
    login("olivia")
    page.goto(f"{live_server.url}/p/{demo.slug}/runs/?order_by=-validation.f1")
    boxes = page.locator('#runs-table tbody input[name="run"]')
    chosen = [boxes.nth(i).get_attribute("value") for i in range(3)]
    for i in range(3):
        boxes.nth(i).check()
    expect(page.locator("#selected-count")).to_have_text("3")
    page.click("#compare-button")
    expect(page).to_have_url(re.compile(r"/compare/\?"))
    assert parse_qs(urlsplit(page.url).query)["run"] == chosen
    wait_for_charts(page)
    first = page.locator("#chart-0")
    expect(page.locator("#chart-0-title")).to_contain_text("validation · f1")
    assert page.evaluate("document.getElementById('chart-0').data.length") == 3
    names = page.evaluate("document.getElementById('chart-0').data.map(t => t.name)")
    assert sorted(names) == sorted(Run.objects.get(pk=i).name for i in chosen)
    expect(first.locator(".legend")).to_be_visible()
    # Smoothing adds a smoothed line over each faint raw line; log scale and wall time redraw.
    page.locator("#smoothing").fill("0.8")
    page.wait_for_function("document.getElementById('chart-0').data.length === 6")
    page.check("#log-scale")
    page.wait_for_function("document.getElementById('chart-0').layout.yaxis.type === 'log'")
    page.check('input[name="x"][value="time"]')
    page.wait_for_function("document.getElementById('chart-0').layout.xaxis.type === 'date'")
    # The comparison table: one column per run, "only differences" hides equal rows.
    table = page.locator("#compare-table")
    expect(table.locator("thead th")).to_have_count(4)
    same_rows = table.locator("tr.same")
    assert same_rows.count() > 0
    expect(same_rows.first).to_be_visible()
    page.check("#only-differences")
    expect(same_rows.first).to_be_hidden()
    assert "diff=1" in page.locator("#share-url").input_value()
    expect(table.locator("td.best").first).to_be_visible()
    page.wait_for_selector("#parcoords[data-loaded=true]")
    parcoords = page.locator("#parcoords")
    expect(parcoords).not_to_contain_text("WebGL is not supported")  # the CSP lets regl run
    assert parcoords.locator("canvas").count() > 0
    expect(parcoords.locator(".axis-title").first).to_be_visible()
    # The link reproduces the comparison.
    share = page.locator("#share-url").input_value()
    assert all(run_id in share for run_id in chosen)
    page.goto(share)
    wait_for_charts(page)
    assert page.evaluate("document.getElementById('chart-0').data.length") == 3
    expect(page.locator("#compare-table")).to_have_class(re.compile("only-differences"))


def test_comparing_fifty_runs_keeps_a_single_step_spike(page, live_server, demo50, login,
                                                        shoot):
    login("olivia")
    runs = list(Run.objects.filter(project=demo50.project).order_by("started_at"))
    assert len(runs) == 50
    query = "&".join(f"run={r.id}" for r in runs)
    page.goto(f"{live_server.url}/p/{demo50.slug}/compare/?{query}")
    expect(page.locator("#compare-title")).to_have_text("Comparing 50 runs")
    wait_for_charts(page)
    page.wait_for_selector("#parcoords[data-loaded=true]")
    expect(page.locator("#compare-table thead th")).to_have_count(51)
    loss = page.locator(".chart-card .chart[data-key=loss][data-split=train]")
    traces = loss.evaluate("el => el.data.map(t => ({name: t.name, max: Math.max(...t.y)}))")
    assert len(traces) == 50
    spiky = next(t for t in traces if t["name"] == "bert-long-spike")
    assert spiky["max"] == 6.5  # one bad batch among 4,000 steps, still on the line
    status = loss.evaluate("el => document.getElementById(el.id + '-status').textContent")
    assert "downsampled" in status
    shoot(page, "compare-50-runs")


def test_a_viewer_sees_no_edit_controls_and_a_forged_post_is_refused(page, live_server, demo,
                                                                      login):
    login("victor")
    run = demo.runs["bert-long-spike"]
    page.goto(f"{live_server.url}/runs/{run.id}/")
    expect(page.locator("#notes-title")).to_be_visible()
    expect(page.locator("#notes-form")).to_have_count(0)
    expect(page.locator("textarea")).to_have_count(0)
    page.goto(f"{live_server.url}/p/{demo.slug}/settings/")
    expect(page.locator("main form")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("you can read its settings")
    page.goto(f"{live_server.url}/p/{demo.slug}/")
    expect(page.locator("main")).not_to_contain_text("Agree on a target")
    # A hand-made POST with a valid session and CSRF token is still refused.
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": csrf, "Referer": live_server.url + "/"}
    answer = page.request.post(f"{live_server.url}/runs/{run.id}/notes/",
                                form={"notes": "forged"}, headers=headers)
    assert answer.status == 403
    answer = page.request.post(f"{live_server.url}/p/{demo.slug}/settings/members/add/",
                                form={"username": "oscar", "role": "owner"}, headers=headers)
    assert answer.status == 403
    run.refresh_from_db()
    assert run.notes == ""
    assert not demo.project.memberships.filter(user=demo.oscar).exists()


def test_an_owner_changes_the_settings_through_their_forms(page, live_server, demo, login,
                                                           shoot):
    """Each form on the settings page posts to its own address; an accepted one comes back
    to the page with a message, a refused one with its error next to its field."""
    login("olivia")
    settings = f"{live_server.url}/p/{demo.slug}/settings/"
    page.goto(settings)
    page.fill("#id_threshold", "0.88")
    page.click("text=Change the target")
    expect(page).to_have_url(settings)
    expect(page.locator(".messages")).to_contain_text("Target saved; the change is recorded.")
    expect(page.locator(".target-headline")).to_contain_text("At least 88 out of 100 on F1")
    page.fill("#id_guardrails-1-metric", "model_size_mb")
    page.fill("#id_guardrails-1-value", "200")
    page.click("text=Save guardrails")
    expect(page.locator(".messages")).to_contain_text("Guardrails saved")
    assert demo.project.guardrails.count() == 2
    page.fill("#id_username", "nobody")
    page.click("text=Add member")
    expect(page.locator("#id_username + .errorlist")).to_contain_text("no user named 'nobody'")
    page.fill("#id_username", "oscar")
    page.click("text=Add member")
    expect(page).to_have_url(settings)
    expect(page.locator(".messages")).to_contain_text("Member saved.")
    oscar = page.locator("[aria-labelledby=members-title] tbody tr", has_text="oscar")
    oscar.locator("select").select_option("member")
    oscar.locator("text=Change").click()
    expect(page.locator(".messages")).to_contain_text("Member saved.")
    assert demo.project.memberships.get(user=demo.oscar).role == "member"
    page.fill("#id_to", "not-an-address")
    page.click("text=Send a report now")
    expect(page.locator("#send-now-form")).to_contain_text(
        "'not-an-address' is not a valid email address")
    shoot(page, "settings-refused-form")
    page.goto(settings)
    page.locator("[aria-labelledby=members-title] tbody tr", has_text="oscar").locator(
        "text=Remove").click()
    expect(page.locator(".messages")).to_contain_text("oscar removed.")
    assert not demo.project.memberships.filter(user=demo.oscar).exists()


def test_a_token_is_shown_once_and_revoked_on_the_account_page(page, live_server, people,
                                                                login, shoot):
    login("mia")
    page.goto(f"{live_server.url}/account/")
    page.fill("#id_name", "training server")
    page.click("text=Create token")
    raw = page.locator("#new-token").inner_text()
    shoot(page, "account-new-token")
    token = people.mia.api_tokens.get()
    page.click(f"[aria-label='Revoke token {token.prefix}']")
    expect(page).to_have_url(f"{live_server.url}/account/")
    expect(page.locator(".messages")).to_contain_text(f"Token {token.prefix}… revoked.")
    expect(page.locator("main")).not_to_contain_text(raw)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_run_named_like_a_script_shows_as_text(page, live_server, demo, login):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login("olivia")
    run = demo.runs[SCRIPT_NAME]
    other = demo.runs["bert-long-spike"]
    pages = [f"/p/{demo.slug}/", f"/p/{demo.slug}/runs/", f"/runs/{run.id}/",
             f"/p/{demo.slug}/compare/?run={run.id}&run={other.id}"]
    for path in pages:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        expect(page.get_by_text(SCRIPT_NAME, exact=True).first).to_be_visible()
    wait_for_charts(page)
    legend = page.evaluate("document.getElementById('chart-0').data.map(t => t.name)")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in legend
    expect(page.locator(".legend").first).to_contain_text(SCRIPT_NAME)
    assert dialogs == []
    # The page has exactly the scripts the server wrote: plotly, charts.js and app.js.
    sources = page.evaluate(
        "[...document.scripts].map(s => s.src || s.type || 'inline')")
    assert [s for s in sources if s not in ("application/json",)] == [
        f"{live_server.url}/static/plotly/plotly.min.js",
        f"{live_server.url}/static/web/charts.js", f"{live_server.url}/static/web/app.js"]


def test_showing_test_results_is_recorded(page, live_server, demo, login):
    login("mia")
    page.goto(f"{live_server.url}/p/{demo.slug}/runs/")
    hidden = page.locator("#runs-table td.hidden-value")
    assert hidden.count() > 0
    assert RevealedTestResults.objects.count() == 0
    page.click("#reveal-form button")
    expect(page.locator(".messages")).to_contain_text("recorded")
    expect(page.locator("#runs-table td.hidden-value")).to_have_count(0)
    reveal = RevealedTestResults.objects.get()
    assert reveal.user == demo.mia and reveal.project == demo.project
    standing = winner_selectors.standing(project=demo.project)
    always = {str(standing.winner.id), str(standing.baseline.id)}
    shown = {str(r.id) for r in Run.objects.filter(project=demo.project)} - always
    assert set(reveal.run_ids) == shown  # every run on the page but the winner and baseline


def test_no_request_leaves_the_server_on_any_page(page, live_server, demo, login, shoot):
    """Also writes the screenshots of every main page, on a laptop and on a phone."""
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
        (live_server.url, "data:", "blob:")) else None)
    failed = []
    # The browser fetches the favicon after the page has loaded; going on to the next page
    # can cancel that fetch (net::ERR_ABORTED), which is the browser's doing, not a failure.
    page.on("requestfailed", lambda r: None if (
        r.url.endswith("/favicon.svg") and r.failure == "net::ERR_ABORTED")
        else failed.append(f"{r.url} ({r.failure})"))
    page.on("pageerror", lambda e: failed.append(str(e)))
    report_checkins.save_checkin(project=demo.project, data={  # so settings shows one
        "cadence": "weekly", "weekday": "monday", "local_time": "09:00",
        "time_zone": "Europe/Paris", "recipients": ["dana@example.com", "cfo@example.com"]})
    login("olivia")
    runs = demo.runs
    spike = runs["bert-long-spike"]
    chosen = [runs["majority-class"], spike, Run.objects.filter(
        project=demo.project, name__startswith="lr-c").order_by("name").first()]
    compare = f"/p/{demo.slug}/compare/?" + "&".join(f"run={r.id}" for r in chosen)
    tour = [("projects", "/"), ("dashboard", f"/p/{demo.slug}/"),
            ("runs", f"/p/{demo.slug}/runs/"), ("compare", compare),
            ("run", f"/runs/{spike.id}/"), ("settings", f"/p/{demo.slug}/settings/"),
            ("account", "/account/")]
    for size_name, size in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        for name, path in tour:
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            if page.locator(".chart-card").count():
                wait_for_charts(page)
            if page.locator("#progress-chart").count():
                page.wait_for_selector("#progress-chart .main-svg")
            page.wait_for_timeout(200)  # plotly's resize after the last chart
            shoot(page, f"{name}-{size_name}")
            if size_name == "phone":
                # Usable on a phone: nothing but tables and charts wider than the screen.
                assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    assert outside == []
    assert failed == []


def test_the_links_an_mlflow_client_prints_open_the_run_and_the_experiment(page, live_server,
                                                                          demo):
    """mlflow prints "View run at http://host/#/experiments/<id>/runs/<hex>": signing in on
    the way keeps where the link pointed."""
    run = demo.runs["majority-class"]
    page.goto(f"{live_server.url}/#/experiments/{run.experiment_id}/runs/{run.id.hex}")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.fill("#id_username", "mia")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/runs/{run.id}/")
    expect(page.locator("main")).to_contain_text(run.name)
    page.goto(f"{live_server.url}/#/experiments/{run.experiment_id}")
    expect(page).to_have_url(re.compile(rf"/p/{demo.slug}/runs/\?filter=experiment"))
    expect(page.locator("tbody tr").first).to_be_visible()


def test_a_percentage_bar_and_a_quality_guardrail_on_test_are_refused_in_place(
        page, live_server, demo, login, shoot):
    """An F1 bar typed as 90 and a recall guardrail on test come back with the reason next
    to the field; a target on a metric no run logs is taken, and the dashboard says so."""
    login("olivia")
    settings = f"{live_server.url}/p/{demo.slug}/settings/"
    page.goto(settings)
    page.fill("#id_threshold", "90")
    page.click("text=Change the target")
    expect(page.locator("#id_threshold ~ .errorlist")).to_have_text(
        "F1 score is between 0 and 1, not 90; did you mean 0.90?")
    shoot(page, "settings-threshold-refused")
    page.fill("#id_guardrails-1-metric", "recall")
    page.fill("#id_guardrails-1-value", "0.9")
    page.click("text=Save guardrails")
    expect(page.locator("#id_guardrails-1-split")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#guardrails-1-errors")).to_contain_text(
        "recall on the test split would make winner selection read the test set; put the "
        "guardrail on validation.")
    shoot(page, "settings-guardrail-refused")
    page.goto(settings)
    page.fill("#id_metric", "f1_macro")
    page.fill("#id_threshold", "0.9")
    page.click("text=Change the target")
    warning = "No run has logged f1_macro on validation yet; runs log f1 and loss."
    expect(page.locator("#target .warnings")).to_have_text(warning)
    page.goto(f"{live_server.url}/p/{demo.slug}/")
    expect(page.locator("main .warnings").first).to_have_text(warning)
    shoot(page, "dashboard-target-warning")
