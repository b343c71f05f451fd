"""The authorization table: for every route of the URL configuration and every method it
serves, what each role is answered (tests/test_authorization_matrix.py checks it).

A route is written as config.urls spells it (`api/v1/runs/<str:run_id>/finish`); its path
parameters are filled with objects of the project "news-topics" (tests/authorization_world.py).
Roles, in the order of every row:

owner, member, viewer  of news-topics
outsider               owner of another project, with a valid token: learns nothing (404)
anonymous              no credentials: 401 from the APIs, a redirect to the login page (302)
                       from the web UI
revoked                a token revoked by its owner: 401 (the web UI knows no tokens: 302)
staff                  a staff user (is_staff) who is no member of news-topics: not written in
                       the rows but derived (`staff_status`): they read what a viewer reads and
                       change nothing, in the v1 API and the web UI; the MLflow API knows
                       members only, so there they are an outsider. A row's `staff` says
                       otherwise where staff differ (adding themselves as a member).

The rule (tracker/permissions.py, docs/api.md): every role reads; owners and members write
runs, experiments, artifacts, models, deployments and business results and send reports;
only owners change the project, its target, guardrails, members, check-in and webhooks
(whose list only they read).
"""

from collections.abc import Callable
from dataclasses import dataclass

ROW_ROLES = ("owner", "member", "viewer", "outsider", "anonymous", "revoked")
ROLES = (*ROW_ROLES, "staff")


@dataclass(frozen=True)
class Row:
    """The statuses of one (route, method), one per role of ROW_ROLES, and what a request
    sends; `staff` when a staff user is answered otherwise than `staff_status` derives."""

    statuses: tuple[int, ...]
    send: Callable[[object], dict] | None = None  # world -> client keyword arguments
    staff: int | None = None

    def __post_init__(self):
        assert len(self.statuses) == len(ROW_ROLES), self.statuses

    def expected(self, route: str) -> tuple[int, ...]:
        """One status per role of ROLES."""
        return (*self.statuses, staff_status(self, route))


def staff_status(row: Row, route: str) -> int:
    """A staff user who is no member reads as a viewer and writes nothing (v1, web UI); the
    MLflow API does not know staff: an outsider there."""
    if row.staff is not None:
        return row.staff
    return row.statuses[ROW_ROLES.index("outsider" if "mlflow" in route else "viewer")]


# --- The rule, as statuses per role ---------------------------------------------------

def reads(ok: int = 200) -> tuple[int, ...]:
    return (ok, ok, ok, 404, 401, 401)


def writes(ok: int = 200) -> tuple[int, ...]:
    return (ok, ok, 403, 404, 401, 401)


def owners(ok: int = 200) -> tuple[int, ...]:
    return (ok, 403, 403, 404, 401, 401)


def anyone(ok: int = 200) -> tuple[int, ...]:
    """Not about the project: every signed-in user is answered (about their own things)."""
    return (ok, ok, ok, ok, 401, 401)


PUBLIC = (200,) * len(ROW_ROLES)


def page(ok: int = 200) -> tuple[int, ...]:
    return (ok, ok, ok, 404, 302, 302)


def page_write(ok: int = 302) -> tuple[int, ...]:
    return (ok, ok, 403, 404, 302, 302)


def page_owner(ok: int = 302) -> tuple[int, ...]:
    return (ok, 403, 403, 404, 302, 302)


def page_anyone(ok: int = 200) -> tuple[int, ...]:
    return (ok, ok, ok, ok, 302, 302)


def json(body: Callable[[object], dict]) -> Callable[[object], dict]:
    return lambda w: {"data": body(w), "content_type": "application/json"}


def query(params: Callable[[object], dict]) -> Callable[[object], dict]:
    return lambda w: {"data": params(w)}


def form(fields: Callable[[object], dict]) -> Callable[[object], dict]:
    return lambda w: {"data": fields(w)}


TARGET = {"metric": "f1", "direction": "maximize", "threshold": 0.9, "judged_on": "test",
          "selected_on": "validation"}
GUARDRAILS = [{"metric": "latency_ms", "split": "test", "op": "<=", "value": 40}]
V1 = "api/v1/"
PRJ = f"{V1}projects/<str:slug>"
RUN = f"{V1}runs/<str:run_id>"
DEP = f"{V1}deployments/<str:deployment_id>"
PROFILE = {"count": 100, "features": {"length": {"kind": "numeric", "edges": [0, 10, 80],
                                                "counts": [40, 60]}}}
IMPACT = {"kind": "ab_test", "metric": "first-contact resolution", "direction": "maximize",
          "control": {"successes": 3550, "n": 5000}, "treatment": {"successes": 5624, "n": 7400},
          "started_at": "2026-11-02T00:00:00Z", "ended_at": "2026-11-17T00:00:00Z"}
LIVE = {"window_start": "2026-11-02T00:00:00Z", "window_end": "2026-11-09T00:00:00Z",
        "metrics": {"f1": 0.83}, "count": 1240, "labelled": 310}

# --- REST API v1 ----------------------------------------------------------------------

V1_ROWS = {
    (V1, "GET"): Row(PUBLIC),
    (f"{V1}projects/", "GET"): Row(anyone()),
    (f"{V1}projects/", "POST"): Row(anyone(201), json(lambda w: {
        "slug": "churn", "name": "Churn", "target": TARGET})),
    (f"{PRJ}/", "GET"): Row(reads()),
    (f"{PRJ}/", "PATCH"): Row(owners(), json(lambda w: {"name": "Renamed"})),
    (f"{PRJ}/target/", "GET"): Row(reads()),
    (f"{PRJ}/target/", "PUT"): Row(owners(), json(lambda w: TARGET)),
    (f"{PRJ}/target/", "DELETE"): Row(owners(204)),
    (f"{PRJ}/guardrails/", "GET"): Row(reads()),
    (f"{PRJ}/guardrails/", "PUT"): Row(owners(), json(lambda w: {"guardrails": GUARDRAILS})),
    (f"{PRJ}/target/history/", "GET"): Row(reads()),
    (f"{PRJ}/members/", "GET"): Row(reads()),
    (f"{PRJ}/members/", "POST"): Row(owners(201), json(lambda w: {
        "username": "newcomer", "role": "viewer"})),
    (f"{PRJ}/members/<str:username>/", "PATCH"): Row(owners(), json(lambda w: {
        "role": "owner"})),
    (f"{PRJ}/members/<str:username>/", "DELETE"): Row(owners(204)),
    (f"{PRJ}/invitations/", "GET"): Row(owners()),
    (f"{PRJ}/invitations/", "POST"): Row(owners(201), json(lambda w: {
        "email": "dana@example.com", "role": "viewer"})),
    (f"{PRJ}/invitations/<str:invitation_id>/", "DELETE"): Row(owners(204)),
    (f"{PRJ}/experiments/", "GET"): Row(reads()),
    (f"{PRJ}/experiments/", "POST"): Row(writes(201), json(lambda w: {"name": "bert"})),
    (f"{PRJ}/experiments/<path:name>/", "GET"): Row(reads()),
    (f"{PRJ}/runs/", "GET"): Row(reads()),
    (f"{PRJ}/runs/", "POST"): Row(writes(201), json(lambda w: {
        "experiment": "tfidf-lr", "name": "lr-2"})),
    (f"{RUN}/", "GET"): Row(reads()),
    (f"{RUN}/", "PATCH"): Row(writes(), json(lambda w: {"notes": "promising"})),
    (f"{RUN}/", "DELETE"): Row(writes(204)),
    (f"{RUN}/heartbeat/", "POST"): Row(writes()),
    (f"{RUN}/finish/", "POST"): Row(writes(), json(lambda w: {"status": "finished"})),
    (f"{RUN}/log-batch/", "POST"): Row(writes(), json(lambda w: {"metrics": [
        {"key": "loss", "split": "train", "step": 1, "value": 0.4, "timestamp": 2000}]})),
    (f"{RUN}/metrics/", "GET"): Row(reads()),
    (f"{RUN}/profile/", "GET"): Row(reads()),
    # The world's run has a reference profile already: posting one replaces it.
    (f"{RUN}/profile/", "POST"): Row(writes(), json(lambda w: PROFILE)),
    (f"{RUN}/history/", "GET"): Row(reads(), query(lambda w: {"key": "loss"})),
    (f"{RUN}/artifacts/", "GET"): Row(reads()),
    (f"{RUN}/artifacts/", "POST"): Row(writes(201), lambda w: {"data": {
        "file": w.upload("roc.png", b"\x89PNG"), "path": "plots/roc.png"}}),
    (f"{RUN}/artifacts/<path:path>", "GET"): Row(reads()),
    (f"{RUN}/artifacts/<path:path>", "PUT"): Row(writes(), lambda w: {
        "data": b"new model bytes", "content_type": "application/octet-stream"}),
    # The trash: deleting a project moves it there (owners); restoring a live one is a 409.
    (f"{PRJ}/", "DELETE"): Row(owners(204)),
    (f"{PRJ}/restore/", "POST"): Row((409, 403, 403, 404, 401, 401)),
    (f"{PRJ}/audit-log/", "GET"): Row(owners()),
    (f"{V1}trash/", "GET"): Row(anyone()),
    # Only what is in the user's trash: the world's live experiment is in nobody's.
    (f"{V1}trash/experiments/<str:experiment_id>/restore/", "POST"):
        Row((404, 404, 404, 404, 401, 401)),
    (f"{RUN}/restore/", "POST"): Row((409, 403, 403, 404, 401, 401)),
    (f"{PRJ}/experiments/<path:name>/", "DELETE"): Row(writes(204)),
    (f"{PRJ}/winner/", "GET"): Row(reads()),
    (f"{PRJ}/leaderboard/", "GET"): Row(reads()),
    (f"{PRJ}/models/", "GET"): Row(reads()),
    (f"{PRJ}/deployments/", "GET"): Row(reads()),
    (f"{PRJ}/deployments/", "POST"): Row(writes(201), json(lambda w: {
        "run": w.run_id, "environment": "production"})),
    (f"{DEP}/", "GET"): Row(reads()),
    (f"{DEP}/end/", "POST"): Row(writes(), json(lambda w: {})),
    (f"{DEP}/results/", "GET"): Row(reads()),
    (f"{DEP}/results/", "POST"): Row(writes(201), json(lambda w: LIVE)),
    (f"{DEP}/profiles/", "GET"): Row(reads()),
    (f"{DEP}/profiles/", "POST"): Row(writes(201), json(lambda w: {
        "window_start": LIVE["window_start"], "window_end": LIVE["window_end"],
        "profile": PROFILE})),
    (f"{DEP}/reference/", "GET"): Row(reads()),
    (f"{DEP}/drift/", "GET"): Row(reads()),
    (f"{PRJ}/production/", "GET"): Row(reads()),
    (f"{PRJ}/impact/", "GET"): Row(reads()),
    (f"{PRJ}/impact/", "POST"): Row(writes(201), json(lambda w: {
        **IMPACT, "deployment": int(w.deployment_id)})),
    (f"{V1}impact/<str:impact_id>/", "GET"): Row(reads()),
    (f"{V1}impact/<str:impact_id>/", "DELETE"): Row(writes(204)),
    (f"{PRJ}/checkin/", "GET"): Row(reads()),
    (f"{PRJ}/checkin/", "PUT"): Row(owners(), json(lambda w: w.checkin)),
    (f"{PRJ}/checkin/", "PATCH"): Row(owners(), json(lambda w: {"local_time": "10:00"})),
    (f"{PRJ}/reports/", "GET"): Row(reads()),
    (f"{PRJ}/reports/", "POST"): Row(writes(202), json(lambda w: {})),
    (f"{PRJ}/reports/<str:report_id>/", "GET"): Row(reads()),
    (f"{PRJ}/reports/<str:report_id>/html/", "GET"): Row(reads()),
    (f"{PRJ}/reports/<str:report_id>/pdf/", "GET"): Row(reads()),
    # Webhooks: owners only, reads too (a Slack or Teams address is a password).
    (f"{PRJ}/webhooks/", "GET"): Row(owners()),
    (f"{PRJ}/webhooks/", "POST"): Row(owners(201), json(lambda w: {
        "url": "https://93.184.215.14/hooks/news", "kind": "generic", "events": ["report"]})),
    (f"{PRJ}/webhooks/<str:webhook_id>/", "GET"): Row(owners()),
    (f"{PRJ}/webhooks/<str:webhook_id>/", "PATCH"): Row(owners(), json(lambda w: {
        "active": False})),
    (f"{PRJ}/webhooks/<str:webhook_id>/", "DELETE"): Row(owners(204)),
    (f"{PRJ}/webhooks/<str:webhook_id>/deliveries/", "GET"): Row(owners()),
}

# --- The web UI -----------------------------------------------------------------------

S = "p/<slug:slug>/settings/"

WEB_ROWS = {
    # For load balancers and Prometheus (api/operations.py): no credentials asked. /metrics
    # asks for METRICS_TOKEN when it is set (tests/test_operations.py).
    ("healthz", "GET"): Row(PUBLIC),
    ("readyz", "GET"): Row(PUBLIC),
    ("metrics", "GET"): Row(PUBLIC),
    ("", "GET"): Row(page_anyone()),
    ("", "POST"): Row(page_anyone(302), form(lambda w: {
        "slug": "churn", "name": "Churn", "metric": "f1", "direction": "maximize",
        "threshold": "0.9", "judged_on": "test", "selected_on": "validation"})),
    ("account/", "GET"): Row(page_anyone()),
    ("account/", "POST"): Row(page_anyone(200), form(lambda w: {"name": "laptop"})),
    # Only the token's own user finds it; anyone else is told it does not exist.
    ("account/tokens/<int:token_id>/revoke/", "POST"): Row((302, 404, 404, 404, 302, 302)),
    ("p/<slug:slug>/", "GET"): Row(page()),
    ("p/<slug:slug>/runs/", "GET"): Row(page()),
    ("p/<slug:slug>/runs.csv", "GET"): Row(page()),
    # The runs table's "CSV with test results": a look at them, open to every role.
    ("p/<slug:slug>/runs.csv", "POST"): Row(page(), form(lambda w: {})),
    ("p/<slug:slug>/reveal-test-results/", "POST"): Row(page(302)),
    ("p/<slug:slug>/compare/", "GET"): Row(page()),
    ("p/<slug:slug>/models/", "GET"): Row(page()),
    ("p/<slug:slug>/production/", "GET"): Row(page()),
    ("p/<slug:slug>/curves.json", "GET"): Row(page(), query(lambda w: {
        "run": w.run_id, "key": "loss"})),
    (S, "GET"): Row(page()),
    (f"{S}project/", "POST"): Row(page_owner(), form(lambda w: {
        "name": "Renamed", "description": ""})),
    (f"{S}target/", "POST"): Row(page_owner(), form(lambda w: {
        **TARGET, "threshold": "0.9", "agreed_by": "", "agreed_on": ""})),
    (f"{S}guardrails/", "POST"): Row(page_owner(), form(lambda w: {
        "guardrails-TOTAL_FORMS": "0", "guardrails-INITIAL_FORMS": "0"})),
    (f"{S}members/add/", "POST"): Row(page_owner(), form(lambda w: {
        "username": "newcomer", "role": "viewer"})),
    (f"{S}members/role/", "POST"): Row(page_owner(), form(lambda w: {
        "username": "member-user", "role": "viewer"})),
    (f"{S}members/remove/", "POST"): Row(page_owner(), form(lambda w: {
        "username": "member-user"})),
    (f"{S}invitations/", "POST"): Row(page_owner(), form(lambda w: {
        "invite-email": "dana@example.com", "invite-role": "viewer"})),
    (f"{S}invitations/revoke/", "POST"): Row(page_owner(), form(lambda w: {
        "invitation": w.invitation_id})),
    # Staff add themselves to a project they see read-only; its members are in already.
    ("p/<slug:slug>/join/", "POST"): Row((403, 403, 403, 404, 302, 302), form(lambda w: {
        "role": "viewer"}), staff=302),
    (f"{S}check-in/", "POST"): Row(page_owner(), form(lambda w: {
        **w.checkin, "weekday": "0", "recipients": "viewer-user"})),
    (f"{S}send-report/", "POST"): Row(page_write(), form(lambda w: {})),
    # The page comes back with the new webhook's secret (not a redirect: it is shown once).
    (f"{S}webhooks/add/", "POST"): Row(page_owner(200), form(lambda w: {
        "url": "https://93.184.215.14/hooks/web", "kind": "slack", "events": ["report"]})),
    (f"{S}webhooks/<int:webhook_id>/switch/", "POST"): Row(page_owner()),
    (f"{S}webhooks/<int:webhook_id>/remove/", "POST"): Row(page_owner()),
    ("trash/", "GET"): Row(page_anyone()),
    # Only an owner restores, and only what is in the trash: the live run is not.
    ("trash/restore/", "POST"): Row((404, 404, 404, 404, 302, 302), form(lambda w: {
        "kind": "run", "key": str(w.run_id)})),
    (f"{S}delete/", "POST"): Row(page_owner()),
    ("experiments/<int:experiment_id>/", "GET"): Row(page(302)),
    ("experiments/<int:experiment_id>/delete/", "POST"): Row(page_write()),
    ("runs/<uuid:run_id>/delete/", "POST"): Row(page_write()),
    ("runs/<uuid:run_id>/", "GET"): Row(page()),
    ("runs/<uuid:run_id>/notes/", "POST"): Row(page_write(), form(lambda w: {
        "notes": "promising"})),
    ("runs/<uuid:run_id>/artifacts/<path:path>", "GET"): Row(page()),
}
# A settings form's address asked with GET (the address bar after a refused form) sends
# anyone signed in to the settings page, which then decides; it tells nothing by itself.
# (Deleting the project is not such a form: it answers only POST.)
WEB_ROWS.update({(route, "GET"): Row(page_anyone(302)) for route, method in list(WEB_ROWS)
                 if route.startswith(S) and route not in (S, f"{S}delete/")})
