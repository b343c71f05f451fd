"""The web UI through Django's test client: access rules, writes, CSV, reveals, JSON."""

import csv
import io
import math
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reports import checkins as report_checkins
from reports import rendering as report_rendering
from reports import workflow as report_workflow
from reports.models import CheckIn, Delivery, Report, ReportKind
from tests.factories import make_run
from tests.web.conftest import PASSWORD
from tests.web.data import SCRIPT_NAME, SLUG
from tracker.models import (
    ApiToken,
    Project,
    RevealedTestResults,
    Run,
    RunDataset,
    TargetChange,
)
from tracker.selectors import winner as winner_selectors
from tracker.services import projects as project_services
from web import presenters
from web.permissions import CONTENT_SECURITY_POLICY
from web.visibility import SESSION_KEY

pytestmark = pytest.mark.django_db

# The settings page's forms, each posting to its own address.
SETTINGS_FORMS = ("web:settings-project", "web:settings-target", "web:settings-guardrails",
                  "web:settings-add-member", "web:settings-change-role",
                  "web:settings-remove-member", "web:settings-checkin",
                  "web:settings-send-report")
OWNERS_FORMS = [name for name in SETTINGS_FORMS if name != "web:settings-send-report"]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def project_urls(demo) -> list[str]:
    run = demo.runs["bert-long-spike"]
    return [
        reverse("web:dashboard", args=[SLUG]), reverse("web:runs", args=[SLUG]),
        reverse("web:runs-csv", args=[SLUG]), reverse("web:settings", args=[SLUG]),
        reverse("web:compare", args=[SLUG]) + f"?run={run.id}",
        reverse("web:curves", args=[SLUG]) + f"?key=loss&split=train&run={run.id}",
        reverse("web:run", args=[run.id]), reverse("web:models", args=[SLUG]),
        reverse("web:production", args=[SLUG]),
    ]


def test_url_names_are_pinned():
    assert reverse("web:projects") == "/"
    assert reverse("login") == "/login/"
    assert reverse("logout") == "/logout/"
    assert reverse("web:account") == "/account/"
    assert reverse("web:revoke-token", args=[7]) == "/account/tokens/7/revoke/"
    assert reverse("web:dashboard", args=["p1"]) == "/p/p1/"
    assert reverse("web:runs", args=["p1"]) == "/p/p1/runs/"
    assert reverse("web:runs-csv", args=["p1"]) == "/p/p1/runs.csv"
    assert reverse("web:compare", args=["p1"]) == "/p/p1/compare/"
    assert reverse("web:curves", args=["p1"]) == "/p/p1/curves.json"
    assert reverse("web:settings", args=["p1"]) == "/p/p1/settings/"
    assert [reverse(name, args=["p1"]) for name in SETTINGS_FORMS] == [
        "/p/p1/settings/project/", "/p/p1/settings/target/", "/p/p1/settings/guardrails/",
        "/p/p1/settings/members/add/", "/p/p1/settings/members/role/",
        "/p/p1/settings/members/remove/", "/p/p1/settings/check-in/",
        "/p/p1/settings/send-report/"]
    assert reverse("web:reveal-test", args=["p1"]) == "/p/p1/reveal-test-results/"
    run_id = "6f1c2a52-6c7e-4c1c-9d59-8f2b6f9f3a10"
    assert reverse("web:run", args=[run_id]) == f"/runs/{run_id}/"


def test_every_page_asks_anonymous_visitors_to_log_in(demo):
    client = Client()
    for url in [reverse("web:projects"), reverse("web:account"), *project_urls(demo)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url
    for name in SETTINGS_FORMS:
        response = client.post(reverse(name, args=[SLUG]), {"username": "oscar"})
        assert response["Location"].startswith("/login/?next="), name
    login = client.get(reverse("login"))
    assert login.status_code == 200
    assert login["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_outsiders_get_404_for_everything_in_a_project(demo):
    client = client_for(demo.oscar)
    for url in project_urls(demo):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Support ticket routing" not in response.content
    run = demo.runs["bert-long-spike"]
    assert client.post(reverse("web:run-notes", args=[run.id]), {"notes": "x"}).status_code == 404
    assert client.post(reverse("web:reveal-test", args=[SLUG]),
                       {"run": str(run.id)}).status_code == 404
    for name in SETTINGS_FORMS:
        response = client.post(reverse(name, args=[SLUG]), {"username": "oscar", "to": ""})
        assert response.status_code == 404, name
    assert client.get(reverse("web:projects")).context["cards"] == []


def test_every_member_reads_every_page_and_pages_forbid_outside_content(demo):
    for user in (demo.olivia, demo.mia, demo.victor):
        client = client_for(user)
        for url in project_urls(demo):
            response = client.get(url)
            assert response.status_code == 200, (user, url)
            if response["Content-Type"].startswith("text/html"):
                assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_each_settings_form_posts_to_its_own_address(demo):
    page = client_for(demo.olivia).get(reverse("web:settings", args=[SLUG])).content.decode()
    for name in SETTINGS_FORMS:
        assert f'<form method="post" action="{reverse(name, args=[SLUG])}"' in page, name
    # The page itself is only read: a form posted to it is not taken.
    client = client_for(demo.olivia)
    assert client.post(reverse("web:settings", args=[SLUG]), {"name": "x"}).status_code == 405
    # A form's address opened in the browser (after a refused form, say) shows the page.
    response = client.get(reverse("web:settings-target", args=[SLUG]))
    assert response.status_code == 302
    assert response["Location"] == reverse("web:settings", args=[SLUG])
    assert client_for(demo.oscar).get(response["Location"]).status_code == 404


def test_viewers_and_members_cannot_change_settings(demo):
    settings_url = reverse("web:settings", args=[SLUG])
    for user in (demo.victor, demo.mia):
        client = client_for(user)
        page = client.get(settings_url).content.decode()
        # Members see one form, "send a report now" (tested on its own below); no other.
        forms_shown = page.count(f'action="{settings_url}')
        assert forms_shown == (1 if user == demo.mia else 0)
        for name in OWNERS_FORMS:
            response = client.post(reverse(name, args=[SLUG]), {
                "username": "olivia", "role": "viewer", "metric": "accuracy",
                "direction": "maximize", "threshold": "0.9", "name": "x"})
            assert response.status_code == 403, (user, name)
    demo.project.refresh_from_db()
    assert demo.project.memberships.get(user=demo.olivia).role == "owner"
    assert demo.project.name == "Support ticket routing"
    assert demo.project.target.metric == "f1"


def test_a_viewer_cannot_edit_notes_but_a_member_can(demo):
    run = demo.runs["bert-long-spike"]
    url = reverse("web:run-notes", args=[run.id])
    viewer = client_for(demo.victor)
    assert 'id="notes-form"' not in viewer.get(reverse("web:run", args=[run.id])).content.decode()
    assert viewer.post(url, {"notes": "forged"}).status_code == 403
    member = client_for(demo.mia)
    assert 'id="notes-form"' in member.get(reverse("web:run", args=[run.id])).content.decode()
    response = member.post(url, {"notes": "Spike at step 2345: one corrupt batch."})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.notes == "Spike at step 2345: one corrupt batch."


def test_posts_without_a_csrf_token_are_refused(demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo.mia)
    run = demo.runs["bert-long-spike"]
    response = client.post(reverse("web:run-notes", args=[run.id]), {"notes": "no token"})
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.notes == ""


def test_user_data_is_escaped_in_html(demo):
    client = client_for(demo.olivia)
    run = demo.runs[SCRIPT_NAME]
    for url in (reverse("web:runs", args=[SLUG]), reverse("web:run", args=[run.id]),
                reverse("web:dashboard", args=[SLUG]),
                reverse("web:compare", args=[SLUG]) + f"?run={run.id}"):
        page = client.get(url).content.decode()
        assert SCRIPT_NAME not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url
    # In JSON for charts the name is escaped by json_script, so it cannot close the tag.
    page = client.get(reverse("web:compare", args=[SLUG]) + f"?run={run.id}").content.decode()
    assert "\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E" in page


def test_owner_changes_the_target_and_the_change_is_recorded(demo):
    client = client_for(demo.olivia)
    response = client.post(reverse("web:settings-target", args=[SLUG]), {
        "metric": "f1", "direction": "maximize", "threshold": "0.88",
        "judged_on": "test", "selected_on": "validation", "agreed_by": "Dana",
        "agreed_on": "2026-06-01", "definition": ""})
    assert response.status_code == 302
    demo.project.target.refresh_from_db()
    assert demo.project.target.threshold == 0.88
    change = TargetChange.objects.filter(project=demo.project, what="target").last()
    assert change.changed_by == demo.olivia and change.old["threshold"] == 0.85
    page = client.get(reverse("web:dashboard", args=[SLUG])).content.decode()
    assert "Change history (3)" in page
    assert "F1 score of at least 85 out of 100 on the test set, picked on validation" in page
    assert "F1 score of at least 88 out of 100 on the test set" in page


def test_a_target_the_services_refuse_shows_the_reason_on_the_field(demo):
    client = client_for(demo.olivia)
    response = client.post(reverse("web:settings-target", args=[SLUG]), {
        "metric": "f1", "direction": "maximize", "threshold": "0.9",
        "judged_on": "test", "selected_on": "test"})
    assert response.status_code == 400
    errors = response.context["target_form"].errors
    assert "would be quoted too optimistically" in errors["selected_on"][0]
    assert demo.project.target.threshold == 0.85


def test_the_target_form_offers_the_logged_metrics_and_names_an_mlflow_key_as_filed(people):
    """An MLflow user knows the key they logged ("val_accuracy"); Targetline files it as
    accuracy on validation, so a target on "val_accuracy" would never match a run."""
    project = project_services.create_project(user=people.olivia, slug="mlflowish", name="M")
    make_run(project, people.olivia, name="r", series={
        "validation.accuracy": [0.8, 0.9], "train.loss": [0.5, 0.4], "test/long.accuracy": 0.7})
    client = client_for(people.olivia)
    page = client.get(reverse("web:settings", args=["mlflowish"])).content.decode()
    assert ('<datalist id="project-metrics"><option value="accuracy"><option value="loss">'
            '</datalist>') in page
    assert ('<datalist id="project-splits"><option value="train"><option value="validation">'
            '<option value="test"><option value="test/long"></datalist>') in page
    assert 'list="project-metrics"' in page and 'list="project-splits"' in page
    target = {"direction": "maximize", "threshold": "0.85", "judged_on": "test",
              "selected_on": "validation"}
    url = reverse("web:settings-target", args=["mlflowish"])
    refused = client.post(url, {**target, "metric": "val_accuracy"})
    assert refused.status_code == 400
    assert refused.context["target_form"].errors["metric"] == [
        "No run here logged a metric named “val_accuracy”: an MLflow client's val_accuracy is "
        "kept as accuracy on validation. Write accuracy (and validation as the split)."]
    assert not hasattr(Project.objects.get(slug="mlflowish"), "target")
    # a metric no run logged yet is a target agreed before the work: accepted
    assert client.post(url, {**target, "metric": "recall_at_5"}).status_code == 302
    assert client.post(url, {**target, "metric": "accuracy"}).status_code == 302


def test_owner_edits_guardrails_and_members(demo):
    client = client_for(demo.olivia)
    url = reverse("web:settings-guardrails", args=[SLUG])
    data = {"guardrails-TOTAL_FORMS": "2",
            "guardrails-INITIAL_FORMS": "1",
            "guardrails-0-metric": "latency_ms", "guardrails-0-split": "test",
            "guardrails-0-op": "<=", "guardrails-0-value": "60",
            "guardrails-1-metric": "model_size_mb", "guardrails-1-split": "test",
            "guardrails-1-op": "<=", "guardrails-1-value": "200"}
    assert client.post(url, data).status_code == 302
    assert [g.as_dict() for g in demo.project.guardrails.all()] == [
        {"metric": "latency_ms", "split": "test", "op": "<=", "value": 60.0},
        {"metric": "model_size_mb", "split": "test", "op": "<=", "value": 200.0}]
    data.update({"guardrails-1-DELETE": "on"})
    assert client.post(url, data).status_code == 302
    assert demo.project.guardrails.count() == 1
    add, change, remove = (reverse(name, args=[SLUG]) for name in (
        "web:settings-add-member", "web:settings-change-role", "web:settings-remove-member"))
    assert client.post(add, {"username": "oscar", "role": "viewer"}).status_code == 302
    assert demo.project.memberships.get(user=demo.oscar).role == "viewer"
    assert client.post(change, {"username": "oscar", "role": "member"}).status_code == 302
    assert demo.project.memberships.get(user=demo.oscar).role == "member"
    assert client.post(remove, {"username": "oscar"}).status_code == 302
    assert not demo.project.memberships.filter(user=demo.oscar).exists()
    unknown = client.post(add, {"username": "nobody", "role": "viewer"})
    assert unknown.status_code == 400
    assert "no user named 'nobody'" in unknown.context["member_form"].errors["username"][0]
    last_owner = client.post(remove, {"username": "olivia"}, follow=True)
    assert "at least one owner" in last_owner.content.decode()


def test_runs_table_filters_sorts_and_chooses_columns(demo):
    client = client_for(demo.olivia)
    url = reverse("web:runs", args=[SLUG])
    response = client.get(url, {"filter": 'experiment = "fine-tuned DistilBERT"',
                                "order_by": "-validation.f1"})
    table = response.context["table"]
    expected = Run.objects.filter(project=demo.project,
                                  experiment__name="fine-tuned DistilBERT").count()
    assert response.context["total"] == expected == len(table)
    assert [c.field for c in response.context["columns"]][:4] == [
        "experiment", "status", "started_at", "validation.f1"]
    numbers = [float(row["cells"][3]["text"]) for row in table]
    assert numbers == sorted(numbers, reverse=True)
    chosen = client.get(url, {"col": ["validation.f1", "params.lr", "tags.stage", "bogus"]})
    assert [c.field for c in chosen.context["columns"]] == [
        "validation.f1", "params.lr", "tags.stage"]
    # A chosen param stays offered (checked) on a page whose runs do not carry it.
    logreg = client.get(url, {"filter": 'params.model = "logreg"', "col": ["params.lr"]})
    assert (presenters.column("param", "lr"), True) in logreg.context["chooser"]["params"]
    assert (presenters.column("param", "C"), False) in logreg.context["chooser"]["params"]


def test_paging_walks_through_every_run_once(demo):
    client = client_for(demo.olivia)
    url = reverse("web:runs", args=[SLUG])
    response = client.get(url, {"page_size": "10", "order_by": "-validation.f1"})
    seen = [row["run"].id for row in response.context["table"]]
    first_columns = [c.field for c in response.context["columns"]]
    assert "col=" in response.context["next_url"]  # later pages keep this page's columns
    while response.context["next_url"]:
        response = client.get(url + response.context["next_url"])
        seen += [row["run"].id for row in response.context["table"]]
    assert len(seen) == len(set(seen)) == Run.objects.filter(project=demo.project).count()
    assert len(seen) > 10
    assert [c.field for c in response.context["columns"]] == first_columns


def test_a_bad_filter_answers_400_with_the_position(demo):
    client = client_for(demo.olivia)
    response = client.get(reverse("web:runs", args=[SLUG]), {"filter": "validation.f1 >> 1"})
    assert response.status_code == 400
    error = response.context["error"]
    assert error["field"] == "filter" and error["position"] == 15
    assert error["caret"] == " " * 15 + "^"


def test_csv_export_follows_the_filter_and_hides_test_values(demo):
    client = client_for(demo.olivia)
    standing = winner_selectors.standing(project=demo.project)
    response = client.get(reverse("web:runs-csv", args=[SLUG]),
                          {"filter": "status = \"finished\"", "order_by": "name"})
    assert response["Content-Disposition"] == f'attachment; filename="{SLUG}-runs.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    finished = Run.objects.filter(project=demo.project, status="finished")
    assert [r["name"] for r in rows] == sorted(finished.values_list("name", flat=True))
    by_name = {r["name"]: r for r in rows}
    assert math.isclose(float(by_name[standing.winner.name]["test.f1"]), standing.judged_value)
    # Shown: the best model's, the baseline's, and those of earlier best models (quoted).
    quoted = {str(p.run_id) for p in winner_selectors.best_so_far(
        project=demo.project, keep=0).improvements} | {str(standing.baseline.id)}
    others = [r for r in rows if r["id"] not in quoted]
    assert others and all(r["test.f1"] == "hidden" for r in others)
    assert all(r["test.f1"] != "hidden" for r in rows if r["id"] in quoted)
    assert RevealedTestResults.objects.count() == 0


def test_filtering_on_test_results_counts_as_a_look(demo):
    client = client_for(demo.mia)
    response = client.get(reverse("web:runs", args=[SLUG]), {"filter": "test.f1 > 0.8"})
    assert response.context["auto_revealed"]
    reveal = RevealedTestResults.objects.get()
    assert reveal.user == demo.mia
    shown = {str(row["run"].id) for row in response.context["table"]}
    standing = winner_selectors.standing(project=demo.project)
    assert set(reveal.run_ids) == shown - {str(standing.winner.id)}
    assert not any(c.get("hidden") for row in response.context["table"] for c in row["cells"])


def test_revealing_test_results_is_recorded_and_lasts_the_session(demo):
    client = client_for(demo.victor)
    run = demo.runs[SCRIPT_NAME]
    run_url = reverse("web:run", args=[run.id])
    assert client.get(run_url).context["hidden_any"]
    response = client.post(reverse("web:reveal-test", args=[SLUG]),
                           {"run": [str(run.id), "not-a-uuid"], "next": run_url})
    assert response.status_code == 302 and response["Location"] == run_url
    reveal = RevealedTestResults.objects.get()
    assert (reveal.user, reveal.project, reveal.run_ids) == (demo.victor, demo.project,
                                                             [str(run.id)])
    assert not client.get(run_url).context["hidden_any"]
    assert client.session[SESSION_KEY.format(project_id=demo.project.id)] == [reveal.id]
    # Another user's session still hides them; an outside `next` is not followed.
    assert client_for(demo.mia).get(run_url).context["hidden_any"]
    away = client.post(reverse("web:reveal-test", args=[SLUG]),
                       {"run": str(run.id), "next": "https://evil.example/"})
    assert away["Location"] == reverse("web:runs", args=[SLUG])


def test_curves_are_downsampled_on_the_server_and_keep_a_spike(demo):
    client = client_for(demo.olivia)
    spike = demo.runs["bert-long-spike"]
    other = demo.runs["majority-class"]
    response = client.get(reverse("web:curves", args=[SLUG]),
                          {"key": "loss", "split": "train", "run": [str(spike.id), str(other.id)],
                           "buckets": "100"})
    traces = {t["name"]: t for t in response.json()["traces"]}
    long = traces["bert-long-spike"]
    assert long["bucketed"] and len(long["value"]) <= 200
    assert max(v for v in long["value"] if v is not None) == 6.5
    assert not traces["majority-class"]["bucketed"]  # 20 points come back whole
    assert len(traces["majority-class"]["step"]) == 20


def test_curves_hide_test_values_of_other_runs(demo):
    client = client_for(demo.olivia)
    standing = winner_selectors.standing(project=demo.project)
    other = demo.runs[SCRIPT_NAME]
    response = client.get(reverse("web:curves", args=[SLUG]), {
        "key": "f1", "split": "test", "run": [str(standing.winner.id), str(other.id)]}).json()
    assert [t["run"] for t in response["traces"]] == [str(standing.winner.id)]
    assert response["hidden"] == 1


def test_compare_view_lists_runs_in_the_linked_order(demo):
    client = client_for(demo.olivia)
    a, b = demo.runs["majority-class"], demo.runs["bert-long-spike"]
    response = client.get(reverse("web:compare", args=[SLUG]),
                          {"run": [str(b.id), str(a.id), "9d2d2a90-0000-4000-8000-000000000000"]})
    assert [r.id for r in response.context["runs"]] == [b.id, a.id]
    assert response.context["missing"] == 1
    assert f"run={b.id}&amp;run={a.id}" in response.content.decode()
    metrics = response.context["rows"][-1]["rows"]
    val_f1 = next(r for r in metrics if r["label"] == "validation · f1")
    assert [c["best"] for c in val_f1["cells"]] == [True, False]
    loss = next(r for r in metrics if r["label"] == "train · loss")
    assert loss["cells"][0]["best"] != loss["cells"][1]["best"]  # lower is better for loss


def test_compare_draws_curves_and_leaves_one_value_metrics_to_the_table(people):
    project = project_services.create_project(user=people.olivia, slug="cmp", name="Cmp")
    runs = [make_run(project, people.olivia, name=f"r{i}", finish=None if i else "finished",
                     series={"train.loss": [1.0, 0.5 - i / 10],
                             "validation.accuracy": 0.8 + i / 10})
            for i in range(2)]
    Run.objects.filter(pk=runs[1].pk).update(last_heartbeat=timezone.now() - timedelta(hours=2))
    response = client_for(people.olivia).get(reverse("web:compare", args=["cmp"]),
                                             {"run": [str(r.id) for r in runs]})
    assert [(c["split"], c["key"]) for c in response.context["charts"]] == [("train", "loss")]
    assert response.context["single_values"] == ["validation · accuracy"]
    assert "compared in the table below rather than drawn: validation · accuracy." in (
        response.content.decode())
    metrics = response.context["rows"][-1]["rows"]
    accuracy = next(r for r in metrics if r["label"] == "validation · accuracy")
    assert [c["best"] for c in accuracy["cells"]] == [False, True]
    facts = response.context["rows"][0]["rows"]
    assert [c["text"] for c in next(r for r in facts if r["label"] == "status")["cells"]] == [
        "finished", "silent"]


def test_account_creates_shows_once_and_revokes_tokens(people):
    client = client_for(people.olivia)
    response = client.post(reverse("web:account"), {"name": "laptop"})
    raw = response.context["new_token"]["raw"]
    assert raw in response.content.decode() and response["Cache-Control"] == "no-store"
    assert raw not in client.get(reverse("web:account")).content.decode()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/projects/").status_code == 200
    token = ApiToken.objects.get(user=people.olivia)
    stranger = client_for(people.mia)
    revoke = reverse("web:revoke-token", args=[token.pk])
    assert stranger.post(revoke).status_code == 404
    assert client.post(revoke).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api.get("/api/v1/projects/").status_code == 401


def test_starting_a_project_from_the_overview(people):
    client = client_for(people.mia)
    response = client.post(reverse("web:projects"), {"slug": "churn", "name": "Churn"})
    assert response.status_code == 302 and response["Location"] == "/p/churn/settings/"
    dashboard = client.get("/p/churn/").content.decode()
    assert "No target has been agreed yet" in dashboard
    taken = client.post(reverse("web:projects"), {"slug": "churn"})
    assert taken.status_code == 400
    assert "already exists" in taken.context["new_project"].errors["slug"][0]


def test_a_short_name_like_one_of_yours_asks_before_a_second_project(people):
    client = client_for(people.mia)
    assert client.post(reverse("web:projects"), {"slug": "tumor-screen"}).status_code == 302

    typo = client.post(reverse("web:projects"), {"slug": "tumour-screen"})

    assert typo.status_code == 400
    form = typo.context["new_project"]
    assert form.errors["slug"] == ['You have "tumor-screen" already: is "tumour-screen" a '
                                   "typo? Tick the box to create it anyway."]
    assert 'name="create_anyway"' in typo.content.decode()
    assert client.get("/p/tumour-screen/").status_code == 404
    anyway = client.post(reverse("web:projects"), {"slug": "tumour-screen",
                                                   "create_anyway": "on"})
    assert anyway.status_code == 302 and anyway["Location"] == "/p/tumour-screen/settings/"


def test_login_page_logs_in_and_out(people):
    client = Client()
    response = client.post(reverse("login"), {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_a_project_without_runs_or_target_reads_plainly(people):
    project = project_services.create_project(user=people.olivia, slug="fresh", name="Fresh")
    client = client_for(people.olivia)
    page = client.get("/p/fresh/").content.decode()
    assert "No target has been agreed yet" in page and "No runs yet" in page
    runs = client.get("/p/fresh/runs/")
    assert runs.status_code == 200 and "No runs yet" in runs.content.decode()
    card = client.get("/").context["cards"][0]
    assert (card.verdict.key, card.verdict.label) == ("no_progress", "No progress")
    assert card.verdict.sentence == ("No target has been agreed yet, so there is nothing to "
                                     "measure progress against.")
    make_run(project, people.olivia, name="r1", series={"validation.acc": [0.5, 0.6]})
    assert client.get("/p/fresh/runs/").context["total"] == 1



def test_without_a_target_the_runs_table_shows_training_metrics_and_the_params_that_differ(
        people):
    """What MLflow's sklearn autolog leaves: training_* metrics only and a dozen params of
    which one or two differ between the runs."""
    project = project_services.create_project(user=people.olivia, slug="autolog", name="Autolog")
    constant = {"bootstrap": True, "ccp_alpha": 0.0, "criterion": "squared_error",
                "max_features": 1.0}
    for depth in (2, 4, 8):
        make_run(project, people.olivia, name=f"depth-{depth}",
                 params={**constant, "max_depth": depth, "n_estimators": 100},
                 series={"train.r2_score": 0.5 + depth / 20, "train.mae": 40 - depth})
    columns = client_for(people.olivia).get("/p/autolog/runs/").context["columns"]
    assert [c.field for c in columns] == [
        "experiment", "status", "started_at", "train.mae", "train.r2_score",
        "params.max_depth", "params.bootstrap", "params.ccp_alpha", "params.criterion"]


def test_without_a_target_the_runs_table_shows_the_metrics_most_runs_share_and_timings_last(
        people):
    """A GridSearchCV under MLflow's autolog: the parent's own metrics, and its trials' CV
    results (mean_test_score, …, mean_fit_time) in four nested runs."""
    project = project_services.create_project(user=people.olivia, slug="grid", name="Grid")
    make_run(project, people.olivia, name="grid", series={
        "train.best_cv_score": 0.47, "train.mean_absolute_error": 36.2})
    for i in range(4):
        make_run(project, people.olivia, name=f"trial-{i}", series={
            "train.mean_fit_time": 0.02, "train.mean_score_time": 0.01,
            "train.mean_test_score": 0.4 + i / 100, "train.rank_test_score": 4 - i,
            "train.std_fit_time": 0.001, "train.std_test_score": 0.05})
    columns = client_for(people.olivia).get("/p/grid/runs/").context["columns"]
    assert [c.field for c in columns if c.kind == "metric"] == [
        "train.mean_test_score", "train.rank_test_score", "train.std_test_score"]


# --- Check-ins on the settings page ----------------------------------------------------

CHECKIN = {"cadence": "weekly", "weekday": "0", "every_n_days": "",
           "starts_on": "", "day_of_month": "", "local_time": "09:30",
           "time_zone": "Europe/Paris", "recipients": "dana@example.com, mia\nceo@example.com",
           "enabled": "on"}


def test_owner_saves_a_check_in_schedule_and_sees_when_the_next_one_is(demo, people):
    people.mia.email = "mia@example.com"
    people.mia.save()
    client = client_for(demo.olivia)
    url = reverse("web:settings", args=[SLUG])
    save = reverse("web:settings-checkin", args=[SLUG])
    assert 'id="checkin-form"' in client.get(url).content.decode()
    response = client.post(save, CHECKIN)
    assert response.status_code == 302
    checkin = CheckIn.objects.get(project=demo.project)
    assert (checkin.cadence, checkin.weekday, checkin.local_time.strftime("%H:%M"),
            checkin.time_zone, checkin.enabled) == ("weekly", 0, "09:30", "Europe/Paris", True)
    assert checkin.recipients == ["dana@example.com", "mia", "ceo@example.com"]
    page = client.get(url).content.decode()
    assert "Every Monday at 09:30 (Europe/Paris)" in page
    local = checkin.next_due_at.astimezone(ZoneInfo("Europe/Paris"))
    assert f"Monday {local.day} {local:%B %Y} at 09:30 (Europe/Paris)" in page
    response = client.post(save, {**CHECKIN, "cadence": "monthly", "day_of_month": "31",
                                 "enabled": ""})
    assert response.status_code == 302
    checkin.refresh_from_db()
    assert (checkin.cadence, checkin.day_of_month, checkin.enabled) == ("monthly", 31, False)
    assert "none: check-ins are switched off" in client.get(url).content.decode()


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"time_zone": "Mars/Olympus"}, "time_zone", "unknown time zone 'Mars/Olympus'"),
    ({"recipients": "dana@example.com\nnot-an-address@"}, "recipients",
     "'not-an-address@' is not a valid email address"),
    ({"recipients": "stranger"}, "recipients", "neither an email address nor a member"),
    ({"local_time": "25:00"}, "local_time", "local_time must be HH:MM"),
    ({"cadence": "every_n_days", "every_n_days": "0"}, "every_n_days", "from 1 to 366"),
])
def test_a_bad_check_in_shows_the_error_next_to_its_field(demo, change, field, message):
    client = client_for(demo.olivia)
    response = client.post(reverse("web:settings-checkin", args=[SLUG]), {**CHECKIN, **change})
    assert response.status_code == 400
    errors = response.context["checkin_form"].errors
    assert list(errors) == [field] and message in errors[field][0]
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert not CheckIn.objects.filter(project=demo.project).exists()


def test_viewers_and_members_read_the_check_in_and_cannot_change_it(demo):
    report_checkins.save_checkin(project=demo.project, data={
        "cadence": "weekly", "weekday": "friday", "local_time": "17:00",
        "time_zone": "UTC", "recipients": ["boss@example.com"]})
    url = reverse("web:settings", args=[SLUG])
    for user in (demo.victor, demo.mia):
        client = client_for(user)
        page = client.get(url).content.decode()
        assert "Every Friday at 17:00 (UTC)" in page and "boss@example.com" in page
        assert 'id="checkin-form"' not in page
        response = client.post(reverse("web:settings-checkin", args=[SLUG]),
                               {**CHECKIN, "recipients": "forged@example.com"})
        assert response.status_code == 403, user
    assert CheckIn.objects.get(project=demo.project).recipients == ["boss@example.com"]
    assert client_for(demo.oscar).get(url).status_code == 404


def test_the_latest_reports_link_to_their_html_and_pdf(demo, settings, tmp_path,
                                                       monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(report_rendering, "draw_charts", lambda figures: {
        name: {"error": "This chart was not drawn in this test."} for name in figures})
    report = report_workflow.send_now(project=demo.project, to=["dana@example.com"],
                                      queue=False)
    report_rendering.render_report(report_id=report.pk)
    pending = report_workflow.send_now(project=demo.project, to=["dana@example.com"],
                                       queue=False)
    html_url = reverse("report-html", args=[SLUG, report.pk])
    pdf_url = reverse("report-pdf", args=[SLUG, report.pk])
    for user in (demo.olivia, demo.mia, demo.victor):
        client = client_for(user)
        page = client.get(reverse("web:settings", args=[SLUG])).content.decode()
        assert f'href="{html_url}"' in page and f'href="{pdf_url}"' in page
        assert "being rendered" in page  # the second report
        assert reverse("report-html", args=[SLUG, pending.pk]) not in page
        assert client.get(html_url).status_code == 200
        pdf = client.get(pdf_url)
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    outsider = client_for(demo.oscar)
    assert outsider.get(html_url).status_code == 404
    assert outsider.get(pdf_url).status_code == 404


def test_owners_and_members_send_a_report_now_to_the_recipients_or_as_a_preview(demo):
    url = reverse("web:settings", args=[SLUG])
    send = reverse("web:settings-send-report", args=[SLUG])
    client = client_for(demo.olivia)
    assert 'id="send-now-form"' in client.get(url).content.decode()
    response = client.post(send, {"to": ""})  # no check-in yet
    assert response.status_code == 400
    assert "has no recipients" in response.context["send_form"].errors["to"][0]
    response = client.post(send, {"to": "dana@example.com, not-an-address"})
    assert response.status_code == 400
    assert response.context["send_form"].errors["to"] == [
        "'not-an-address' is not a valid email address"]
    assert not Report.objects.filter(project=demo.project).exists()

    report_checkins.save_checkin(project=demo.project, data={
        "cadence": "weekly", "weekday": "friday", "local_time": "17:00",
        "time_zone": "UTC", "recipients": ["boss@example.com", "mia"]})
    demo.mia.email = "mia@example.com"
    demo.mia.save()
    response = client.post(send, {"to": ""}, follow=True)
    assert "being prepared for the recipients" in response.content.decode()
    report = Report.objects.get(project=demo.project)
    assert (report.kind, report.requested_by) == (ReportKind.MANUAL, demo.olivia)
    assert sorted(Delivery.objects.filter(report=report).values_list("email", flat=True)) == \
        ["boss@example.com", "mia@example.com"]

    response = client.post(send, {"to": "dana@example.com"}, follow=True)
    assert "being prepared for dana@example.com (a preview)" in response.content.decode()
    preview = Report.objects.filter(project=demo.project).latest("id")
    assert preview.kind == ReportKind.PREVIEW
    assert list(Delivery.objects.filter(report=preview).values_list("email", flat=True)) == \
        ["dana@example.com"]

    member = client_for(demo.mia)  # members send reports too, as through the API
    assert 'id="send-now-form"' in member.get(url).content.decode()
    assert member.post(send, {"to": ""}).status_code == 302
    viewer = client_for(demo.victor)
    assert 'id="send-now-form"' not in viewer.get(url).content.decode()
    refused = viewer.post(send, {"to": ""})
    assert refused.status_code == 403
    assert "only owners and members can send a report" in refused.content.decode()
    assert Report.objects.filter(project=demo.project).count() == 3


def test_the_dashboard_gives_the_verdict_and_why(demo):
    page = client_for(demo.victor).get(reverse("web:dashboard", args=[SLUG]))
    verdict = page.context["verdict"]
    assert verdict.label in ("Target met", "On track", "At risk", "No progress")
    text = page.content.decode()
    assert f"<strong>{verdict.label}:</strong>" in text
    assert verdict.sentence.split(",")[0].replace("'", "&#x27;") in text


def test_a_long_param_or_tag_is_shortened_in_tables_and_folded_on_the_run_page(demo):
    features = ",".join(f"feature_{i}" for i in range(900))  # ~10,000 characters
    notes = "Trained on the November export. " * 40
    run = make_run(demo.project, demo.olivia, name="wide", params={"features": features},
                   tags={"summary": notes})
    client = client_for(demo.olivia)
    table = client.get(reverse("web:runs", args=[SLUG]),
                       {"filter": 'name = "wide"',
                        "col": ["params.features", "tags.summary"]}).context["table"]
    param_cell, tag_cell = table[0]["cells"]
    assert len(param_cell["text"]) == presenters.CELL_CHARACTERS
    assert param_cell["text"].endswith("…") and param_cell["title"] == features
    assert tag_cell["title"] == notes
    page = client.get(reverse("web:run", args=[run.id])).content.decode()
    assert page.count("<details class=\"long-value\">") == 2
    assert f"({len(features)} characters)" in page
    assert features in page  # whole, inside the folded part


def test_the_run_page_links_a_sweep_and_its_nested_runs(people):
    """MLflow nests a sweep's trials under the sweep's run with the tag mlflow.parentRunId."""
    project = project_services.create_project(user=people.olivia, slug="sweep", name="Sweep")
    sweep = make_run(project, people.olivia, name="grid-search")
    trials = [make_run(project, people.olivia, name=f"trial-{i}",
                       tags={"mlflow.parentRunId": sweep.id.hex}) for i in range(3)]
    make_run(project, people.olivia, name="unrelated")
    client = client_for(people.olivia)
    page = client.get(reverse("web:run", args=[sweep.id]))
    assert page.context["children"] == 3
    assert "3 runs nested under it" in page.content.decode()
    nested = client.get(page.context["children_url"]).context["table"]
    assert sorted(row["run"].name for row in nested) == ["trial-0", "trial-1", "trial-2"]
    trial = client.get(reverse("web:run", args=[trials[0].id]))
    assert trial.context["parent"] == sweep and trial.context["children"] == 0
    assert f'part of <a href="{reverse("web:run", args=[sweep.id])}">grid-search</a>' in (
        trial.content.decode())


def test_mlflow_system_metrics_are_kept_apart_from_the_models_metrics(people):
    """MLflow's system metrics monitor logs "system/cpu_utilization_percentage" and the like
    (train, by the key mapping): the run page folds them away and tables do not pick them."""
    project = project_services.create_project(user=people.olivia, slug="monitored",
                                              name="Monitored")
    run = make_run(project, people.olivia, name="r", series={
        "train.loss": [1.0, 0.5], "train.system/cpu_utilization_percentage": [30.0, 80.0],
        "train.system/system_memory_usage_megabytes": [2000.0, 2100.0]})
    client = client_for(people.olivia)
    page = client.get(reverse("web:run", args=[run.id]))
    assert [r["summary"].key for r in page.context["rows"]] == ["loss"]
    assert [r["summary"].key for r in page.context["system_rows"]] == [
        "system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"]
    config = page.context["chart_config"]
    assert [k["key"] for k in config["keys"]] == ["loss"]
    assert len(config["system_keys"]) == 2
    html = page.content.decode()
    assert '<details class="card section" id="system-curves">' in html
    assert "System metrics: 2 series" in html
    columns = client.get("/p/monitored/runs/").context["columns"]
    assert [c.field for c in columns if c.kind == "metric"] == ["train.loss"]


def test_the_run_page_says_where_each_dataset_came_from(people):
    """MLflow stores a dataset's source as JSON; the page names the file, address, table or
    script in it, the whole source in the title."""
    project = project_services.create_project(user=people.olivia, slug="data", name="Data")
    run = make_run(project, people.olivia, name="r")
    code = '{"tags": {"mlflow.user": "olivia", "mlflow.source.name": "train_churn.py"}}'
    for name, source_type, source, context in (
            ("features", "code", code, "training"),
            ("iris", "local", '{"uri": "/data/iris.csv"}', "eval"),
            ("imdb", "hugging_face", '{"path": "stanfordnlp/imdb", "split": "test"}', ""),
            ("odd", "custom", "not json at all", "")):
        RunDataset.objects.create(run=run, name=name, digest="d" * 8, source_type=source_type,
                                  source=source, tags={"mlflow.data.context": context})
    page = client_for(people.olivia).get(reverse("web:run", args=[run.id]))
    assert [(d["name"], d["used_for"], d["origin"]) for d in page.context["datasets"]] == [
        ("features", "training", "train_churn.py"), ("iris", "eval", "/data/iris.csv"),
        ("imdb", "", "stanfordnlp/imdb"), ("odd", "", "not json at all")]
    text = page.content.decode()
    assert ">train_churn.py</span>" in text and "mlflow.user" in text  # the whole, as title


def test_an_mlflow_runs_script_stands_where_the_command_would(people):
    project = project_services.create_project(user=people.olivia, slug="src", name="Src")
    run = make_run(project, people.olivia, name="r",
                   tags={"mlflow.source.name": "train_churn.py", "mlflow.source.type": "LOCAL"})
    text = client_for(people.olivia).get(reverse("web:run", args=[run.id])).content.decode()
    assert '<th scope="row">Script</th>' in text and ">train_churn.py</td>" in text
    assert '<th scope="row">Command</th>' not in text


def test_a_metric_logged_once_gets_no_curve_but_is_named(people):
    """An evaluation's accuracy is one value: the table shows it; a chart of one dot does not."""
    project = project_services.create_project(user=people.olivia, slug="once", name="Once")
    run = make_run(project, people.olivia, name="r", series={
        "train.loss": [1.0, 0.6, 0.4], "train.accuracy": [0.95], "validation.accuracy": [0.91],
        "validation.f1": [0.7, 0.8], "train.f1": [0.9]})
    page = client_for(people.olivia).get(reverse("web:run", args=[run.id]))
    keys = page.context["chart_config"]["keys"]
    # a metric with a curve on one split keeps its single value of another split beside it
    assert [(k["key"], k["splits"]) for k in keys] == [
        ("f1", ["train", "validation"]), ("loss", ["train"])]
    assert [r["summary"].key for r in page.context["rows"]] == [
        "accuracy", "accuracy", "f1", "f1", "loss"]
    assert "Logged once, so not drawn (the value is in the table above): accuracy." in (
        page.content.decode())


def test_the_run_page_says_what_at_best_step_means_for_this_run(demo, people):
    client = client_for(demo.olivia)
    run = demo.runs["bert-long-spike"]
    text = client.get(reverse("web:run", args=[run.id])).content.decode()
    assert f"where f1 on validation was best (step {run.best_step})" in text
    unscored = make_run(demo.project, demo.olivia, name="no-f1", series={"train.loss": [0.5]})
    text = client.get(reverse("web:run", args=[unscored.id])).content.decode()
    assert "this run has no f1 on validation, so it shows each series' last value" in text
    project = project_services.create_project(user=people.olivia, slug="untargeted", name="U")
    plain = make_run(project, people.olivia, name="r", series={"train.loss": [0.5, 0.4]})
    text = client_for(people.olivia).get(reverse("web:run", args=[plain.id])).content.decode()
    assert ("The project has no target metric yet (an owner sets it in Settings), so “At best "
            "step” is each series' last value; it is what filters") in text


def test_a_dashboard_without_a_target_says_to_agree_one_once(people):
    project = project_services.create_project(user=people.olivia, slug="fresh", name="Fresh")
    make_run(project, people.olivia, name="r", series={"train.loss": [0.5, 0.4]})
    text = client_for(people.olivia).get(reverse("web:dashboard", args=["fresh"])).content.decode()
    assert text.count("agree on a metric, a direction and a threshold first") == 1
    assert "No target has been agreed yet, so there is nothing to measure" in text


def test_a_running_run_that_went_quiet_shows_as_silent(people):
    """A script that died without ending its run (MLflow's end_run never called) leaves it
    running; after an hour without a word it shows as silent, its stored status unchanged."""
    project = project_services.create_project(user=people.olivia, slug="quiet", name="Quiet")
    dead = make_run(project, people.olivia, name="dead", finish=None)
    alive = make_run(project, people.olivia, name="alive", finish=None)
    Run.objects.filter(pk=dead.pk).update(last_heartbeat=timezone.now() - timedelta(hours=3))
    Run.objects.filter(pk=alive.pk).update(last_heartbeat=timezone.now() - timedelta(minutes=5))
    client = client_for(people.olivia)
    table = client.get(reverse("web:runs", args=["quiet"]), {"col": ["status"]}).context["table"]
    shown = {row["run"].name: row["cells"][0] for row in table}
    assert shown["dead"]["text"] == "silent" and "nothing received for 3 h" in (
        shown["dead"]["title"])
    assert shown["alive"]["text"] == "running" and not shown["alive"]["title"]
    page = client.get(reverse("web:run", args=[dead.id])).content.decode()
    assert "its script may have died without ending the run" in page
    assert client.get(reverse("web:runs", args=["quiet"]),
                      {"filter": 'status = "running"'}).context["total"] == 2
