"""Webhooks through the API (owners add, read, change and remove them) and the events that
make notifications: a check-in report, the target met, a new best model; each told once."""

import pytest
from django.db import transaction

from reports import tasks, webhooks
from reports.alerts import check_alerts
from reports.models import CheckIn, Delivery, Webhook, WebhookDelivery
from tests.factories import make_run
from tracker.models import AuditEntry
from tracker.selectors.winner import standing

pytestmark = pytest.mark.django_db

URL = "/api/v1/projects/news-topics/webhooks/"
PUBLIC = "https://93.184.215.14/hooks/news"


@pytest.fixture
def hook_settings(settings):
    settings.PUBLIC_BASE_URL = "https://targetline.example.com"
    settings.WEBHOOK_ALLOW_PRIVATE = False
    return settings


def add(api, **body):
    return api.post(URL, {"url": PUBLIC, "kind": "generic", "events": ["report"], **body},
                    format="json")


def test_an_owner_adds_a_webhook_and_sees_its_secret_once(project, api, hook_settings):
    answer = add(api, kind="slack", events=["report", "target_met", "report"])
    assert answer.status_code == 201, answer.json()
    created = answer.json()
    secret = created.pop("secret")
    assert len(secret) == 64
    assert created == {
        "id": created["id"], "url": PUBLIC, "kind": "slack",
        "events": ["report", "target_met"], "active": True,
        "created_at": created["created_at"], "created_by": "olivia", "last_delivery": None}
    assert Webhook.objects.get(pk=created["id"]).secret == secret
    read = api.get(f"{URL}{created['id']}").json()
    assert read == created
    assert api.get(URL).json() == {"results": [created]}
    for answer in (read, api.get(URL).json()):
        assert secret not in str(answer)
    entry = AuditEntry.objects.get(action="webhook.create")
    assert (entry.username, entry.subject, entry.details) == (
        "olivia", f"slack webhook {created['id']} to 93.184.215.14",
        {"kind": "slack", "events": ["report", "target_met"], "host": "93.184.215.14"})


def test_an_owner_changes_and_removes_a_webhook(project, api, hook_settings):
    hook = add(api).json()
    changed = api.patch(f"{URL}{hook['id']}", {"events": ["winner_changed"], "active": False},
                        format="json")
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["events"], changed.json()["active"]) == (["winner_changed"], False)
    refused = api.patch(f"{URL}{hook['id']}", {"kind": "teams"}, format="json")
    assert (refused.status_code, refused.json()["field"]) == (400, "kind")
    private = api.patch(f"{URL}{hook['id']}", {"url": "http://10.0.0.5/in"}, format="json")
    assert (private.status_code, private.json()["field"]) == (400, "url")
    assert Webhook.objects.get(pk=hook["id"]).url == PUBLIC  # nothing stored
    assert api.delete(f"{URL}{hook['id']}").status_code == 204
    assert api.get(f"{URL}{hook['id']}").status_code == 404
    entry = AuditEntry.objects.get(action="webhook.delete")
    assert entry.subject == f"generic webhook {hook['id']} to 93.184.215.14"


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"url": "ftp://93.184.215.14/x"}, "url", "only http and https"),
    ({"url": "not a url"}, "url", "not 'a URL without a scheme'"),
    ({"url": 42}, "url", "url must be an http or https address"),
    ({"url": "http://127.0.0.1:9000/in"}, "url", "'127.0.0.1' is a loopback address"),
    ({"url": "http://169.254.169.254/latest"}, "url", "link-local"),
    ({"url": "http://localhost/in"}, "url", "'localhost' resolves to"),
    ({"kind": "discord"}, "kind", "kind must be one of slack, teams, generic, not 'discord'"),
    ({"events": []}, "events", "events must be a list of one or more of report"),
    ({"events": "report"}, "events", "events must be a list"),
    ({"events": ["report", "deployed"]}, "events[1]", "events[1] must be one of report, "
                                                      "target_met, winner_changed, "
                                                      "production.below_bar, production.drift, "
                                                      "not 'deployed'"),
    ({"active": "yes"}, "active", "active must be true or false"),
    ({"secret": "mine"}, "secret", "secret is not a field of a webhook"),
])
def test_a_bad_webhook_is_a_400_naming_the_field(project, api, hook_settings, body, field,
                                                 words):
    answer = add(api, **body)
    assert answer.status_code == 400
    assert answer.json()["field"] == field
    assert words in answer.json()["error"]
    assert not Webhook.objects.exists()


def test_a_missing_field_is_named(project, api, hook_settings):
    answer = api.post(URL, {"url": PUBLIC, "kind": "generic"}, format="json")
    assert (answer.status_code, answer.json()) == (
        400, {"error": "events is required", "field": "events"})


def test_private_addresses_are_taken_when_the_operator_allows_them(project, api,
                                                                   hook_settings):
    hook_settings.WEBHOOK_ALLOW_PRIVATE = True
    assert add(api, url="http://127.0.0.1:9000/in").status_code == 201


def test_members_and_viewers_cannot_read_the_webhooks(roles, hook_settings):
    assert add(roles["owner"]).status_code == 201
    for role in ("member", "viewer"):
        answer = roles[role].get(URL)
        assert answer.status_code == 403
        assert "only owners may see or change its webhooks" in answer.json()["error"]


ROLE_MATRIX = [  # owner, member, viewer, outsider, anonymous
    ("get", "", None, (200, 403, 403, 404, 401)),
    ("post", "", {"url": PUBLIC, "kind": "teams", "events": ["report"]},
     (201, 403, 403, 404, 401)),
    ("get", "{id}", None, (200, 403, 403, 404, 401)),
    ("patch", "{id}", {"events": ["target_met"]}, (200, 403, 403, 404, 401)),
    ("delete", "{id}", None, (204, 403, 403, 404, 401)),
    ("get", "{id}/deliveries/", None, (200, 403, 403, 404, 401)),
]


@pytest.mark.parametrize(("method", "path", "body", "statuses"), ROLE_MATRIX)
def test_only_owners_see_or_change_webhooks(project, roles, hook_settings, method, path, body,
                                            statuses):
    existing = hook(project)
    before = list(Webhook.objects.values_list("id", "url", "events", "active"))
    url = URL + path.format(id=existing.pk)
    for role, expected in zip(("owner", "member", "viewer", "outsider", "anonymous"),
                              statuses, strict=True):
        if role == "owner":
            continue  # last: its write changes what the others are checked against
        answer = getattr(roles[role], method)(url, body, format="json")
        assert answer.status_code == expected, (role, answer.json())
        assert list(Webhook.objects.values_list("id", "url", "events", "active")) == before
    answer = getattr(roles["owner"], method)(url, body, format="json")
    assert answer.status_code == statuses[0], answer.content


# --- events ---------------------------------------------------------------------------------

def hook(project, kind="generic", events=("report",), active=True) -> Webhook:
    webhook, _ = webhooks.create_webhook(project=project, url=PUBLIC, kind=kind,
                                         events=list(events), active=active)
    return webhook


def test_a_check_in_report_is_told_once_to_each_listening_webhook(rendered_report, checkin,
                                                                  hook_settings, met_sentence):
    generic = hook(checkin.project)
    slack = hook(checkin.project, kind="slack", events=["report", "winner_changed"])
    hook(checkin.project, events=["target_met"])  # not listening to reports
    hook(checkin.project, active=False)  # switched off
    report = rendered_report()
    first = webhooks.notify_report(report_id=report.pk)
    assert len(first) == 2
    assert webhooks.notify_report(report_id=report.pk) == []  # once per event
    told = {d.webhook_id: d for d in WebhookDelivery.objects.all()}
    assert set(told) == {generic.pk, slack.pk}
    body = told[generic.pk].body
    base = "https://targetline.example.com"
    assert body["event"] == "report" and body["event_id"] == f"report:{report.pk}"
    assert (body["title"], body["verdict"], body["sentence"]) == (
        "News topics check-in: Target met", {"code": "met", "label": "Target met"},
        met_sentence)
    assert body["links"] == {
        "dashboard": f"{base}/p/news-topics/",
        "pdf": f"{base}/api/v1/projects/news-topics/reports/{report.pk}/pdf/"}
    assert body["report"]["html"] == f"{base}/api/v1/projects/news-topics/reports/{report.pk}/html/"
    assert told[slack.pk].body["blocks"][1]["text"]["text"] == f"*Target met.* {met_sentence}"


def test_a_preview_tells_no_webhook(rendered_report, checkin, hook_settings):
    hook(checkin.project)
    report = rendered_report(to=["someone@example.com"])
    assert webhooks.notify_report(report_id=report.pk) == []


def test_delivering_a_report_queues_its_notifications(
        rendered_report, checkin, queued, hook_settings, django_capture_on_commit_callbacks):
    hook(checkin.project)
    report = rendered_report()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.deliver_report_task.run(report.pk)
    [delivery] = WebhookDelivery.objects.all()
    assert ("deliver_webhook_task", (delivery.pk,)) in [(n, a) for n, a, _ in queued]


def test_the_target_met_and_a_new_best_model_are_told(checkin, owner, hook_settings):
    generic = hook(checkin.project, events=["target_met", "winner_changed"])
    svm = standing(project=checkin.project).winner
    alerts = check_alerts(project_id=checkin.project.pk, run_id=str(svm.pk))
    assert len(webhooks.notify_alerts(alerts=alerts)) == 2
    assert webhooks.notify_alerts(alerts=alerts) == []
    bodies = {d.event: d.body for d in WebhookDelivery.objects.filter(webhook=generic)}
    met = bodies["target_met"]
    assert met["title"] == "News topics: target met"
    assert met["verdict"] == {"code": "met", "label": "Target met"}
    assert met["sentence"].startswith("News topics has met its target for the first time. ")
    assert met["run"] == {"id": str(svm.pk), "name": "svm", "experiment": "svm"}
    changed = bodies["winner_changed"]
    assert changed["title"] == "News topics: new best model"
    assert changed["sentence"].startswith(
        'Run "svm" (experiment "svm") is now the best model, replacing run "lr". ')
    assert changed["previous_run"]["name"] == "lr"
    assert changed["links"] == {"dashboard": "https://targetline.example.com/p/news-topics/",
                                "pdf": None}


def test_only_an_active_webhook_listening_to_alerts_asks_for_an_alert_check(
        project, owner, queued, hook_settings, django_capture_on_commit_callbacks):
    # wants_alerts reads the check-in and every webhook in one query: a webhook of reports
    # only, or a paused one, asks for no check; one listening to "target_met" among several
    # does.
    hook(project, events=["report"])
    hook(project, events=["winner_changed"], active=False)

    def finish_a_run() -> list:
        queued.clear()
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            make_run(project, owner, name="svm", experiment="svm",
                     series={"validation.f1": 0.84, "test.f1": 0.86})
        return [n for n, _, _ in queued if n == "check_alerts_task"]

    assert finish_a_run() == []
    hook(project, events=["report", "target_met"])
    assert finish_a_run() == ["check_alerts_task"]


def test_a_webhook_hears_alerts_without_a_check_in_and_nobody_is_emailed(
        project, owner, queued, hook_settings, django_capture_on_commit_callbacks):
    assert not CheckIn.objects.filter(project=project).exists()
    hook(project, events=["winner_changed"])
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        run = make_run(project, owner, name="svm", experiment="svm",
                       series={"validation.f1": 0.84, "test.f1": 0.86,
                               "test.latency_ms": 9})
    checks = [a for n, a, _ in queued if n == "check_alerts_task"]
    assert checks == [(project.pk, str(run.pk))]
    with django_capture_on_commit_callbacks(execute=True):
        tasks.check_alerts_task.run(*checks[0])
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event == "winner_changed"
    assert not Delivery.objects.exists()  # no email: no check-in asked for one
    assert ("deliver_webhook_task", (delivery.pk,)) in [(n, a) for n, a, _ in queued]
