"""The audit log: every destructive or permission-changing action, with who, what, when
and from which address; owners read it per project."""

from datetime import UTC, datetime

import pytest
import time_machine

from tests.api.answers import error_body
from tests.conftest import TARGET
from tracker.models import ApiToken, Role
from tracker.services import projects as project_services
from tracker.services import runs as run_services

P = "/api/v1/projects/news-topics"
WHEN = datetime(2030, 12, 1, 9, 30, tzinfo=UTC)  # after every other entry
FROM = {"REMOTE_ADDR": "203.0.113.7"}


@pytest.fixture
def member(project, make_user, client_for):
    user = make_user("mo")
    project_services.set_member(project=project, username="mo", role=Role.MEMBER)
    return client_for(user)


def _log(api, **query) -> list[dict]:
    answer = api.get(f"{P}/audit-log/", query)
    assert answer.status_code == 200, answer.json()
    return answer.json()["results"]


def _entry(api) -> dict:
    return _log(api)[0]


def _who_what_where(entry: dict) -> tuple:
    return entry["user"], entry["action"], entry["subject"], entry["address"]


@pytest.fixture
def run(project, owner):
    return run_services.create_run(project=project, user=owner, experiment="tfidf-lr",
                                   name="lr-1")[0]


def test_each_action_is_recorded_with_who_what_when_and_where(api, project, member, run,
                                                             make_user):
    make_user("newcomer")
    actions = [
        (lambda: member.delete(f"/api/v1/runs/{run.id}", **FROM),
         ("mo", "run.delete", f"run lr-1 ({run.id})")),
        (lambda: api.post(f"/api/v1/runs/{run.id}/restore", **FROM),
         ("olivia", "run.restore", f"run lr-1 ({run.id})")),
        (lambda: api.post(f"{P}/members/", {"username": "newcomer", "role": "viewer"},
                          format="json", **FROM),
         ("olivia", "member.add", "newcomer as viewer")),
        (lambda: api.patch(f"{P}/members/mo", {"role": "viewer"}, format="json", **FROM),
         ("olivia", "member.role", "mo: member → viewer")),
        (lambda: api.delete(f"{P}/members/newcomer", **FROM),
         ("olivia", "member.remove", "newcomer (viewer)")),
        (lambda: api.put(f"{P}/target", {**TARGET, "threshold": 0.9}, format="json", **FROM),
         ("olivia", "target.change", "target")),
        (lambda: api.put(f"{P}/guardrails", {"guardrails": []}, format="json", **FROM),
         ("olivia", "guardrails.change", "guardrails")),
        (lambda: api.delete(f"{P}/", **FROM), ("olivia", "project.delete", "project news-topics")),
        (lambda: api.post(f"{P}/restore", **FROM),
         ("olivia", "project.restore", "project news-topics")),
    ]
    for act, expected in actions:
        with time_machine.travel(WHEN, tick=False):
            assert act().status_code < 300

        entry = _entry(api)

        assert _who_what_where(entry) == (*expected, "203.0.113.7")
        assert datetime.fromisoformat(entry["at"]) == WHEN
    [role_change] = [e for e in _log(api) if e["action"] == "member.role"]
    assert role_change["details"] == {"old": "member", "new": "viewer"}
    assert role_change["description"] == "changed a role"


def test_the_target_change_keeps_the_old_and_the_new(api, project):
    api.put(f"{P}/target", {**TARGET, "threshold": 0.9}, format="json")

    details = _entry(api)["details"]

    assert (details["old"]["threshold"], details["new"]["threshold"]) == (0.85, 0.9)


def test_the_address_behind_a_proxy_is_the_one_it_saw(api, project, run, settings):
    settings.PROXY_COUNT = 1

    api.delete(f"/api/v1/runs/{run.id}", REMOTE_ADDR="10.0.0.2",
               HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.9")

    assert _entry(api)["address"] == "198.51.100.9"


def test_a_members_tokens_made_and_revoked_on_the_account_page_are_in_the_log(
        api, project, member, client):
    client.force_login(member.user)
    client.post("/account/", {"name": "laptop"}, REMOTE_ADDR="192.0.2.5")
    token = ApiToken.objects.get(user=member.user, name="laptop")
    made = _entry(api)
    client.post(f"/account/tokens/{token.id}/revoke/", REMOTE_ADDR="192.0.2.6")
    revoked = _entry(api)

    assert _who_what_where(made) == ("mo", "token.create", f"token {token.prefix}… (laptop)",
                                     "192.0.2.5")
    assert _who_what_where(revoked) == ("mo", "token.revoke",
                                        f"token {token.prefix}… (laptop)", "192.0.2.6")


def test_an_outsiders_tokens_are_not_in_the_projects_log(api, project, make_user, client_for):
    client_for(make_user("stranger"))

    assert [e["user"] for e in _log(api) if e["action"] == "token.create"] == ["olivia"]


def test_mlflow_deletions_and_restorations_are_recorded(api, project, run):
    for call, action in (("delete", "run.delete"), ("restore", "run.restore")):
        answer = api.post(f"/api/2.0/mlflow/runs/{call}", {"run_id": str(run.id)},
                          format="json", REMOTE_ADDR="192.0.2.44")
        assert answer.status_code == 200
        assert _who_what_where(_entry(api))[1:] == (action, f"run lr-1 ({run.id})",
                                                    "192.0.2.44")
    api.post("/api/2.0/mlflow/experiments/delete", {"experiment_id": str(run.experiment_id)},
             format="json")
    assert _who_what_where(_entry(api))[:3] == ("olivia", "experiment.delete",
                                                "experiment tfidf-lr")


def test_only_owners_read_the_audit_log(project, member):
    body = error_body(member.get(f"{P}/audit-log/"), 403, None)
    assert "only owners may read the audit log" in body["error"]


def test_a_bad_limit_is_refused_naming_it(api, project):
    error_body(api.get(f"{P}/audit-log/?limit=none"), 400, "limit")
    error_body(api.get(f"{P}/audit-log/?limit=0"), 400, "limit")
    assert len(_log(api, limit=1)) == 1
