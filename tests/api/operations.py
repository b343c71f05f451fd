"""Every operation of the v1 API, with what a request of each sends: shared by the role
matrix (test_roles.py) and the check of every answer against the schema (test_shapes.py)."""

from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.conftest import TARGET
from tracker.models import ImpactResult, Invitation
from tracker.services import artifacts as artifact_services
from tracker.services import deployments as deployment_services
from tracker.services import experiments as experiment_services
from tracker.services import metrics as metric_services
from tracker.services import production as production_services
from tracker.services import runs as run_services
from tracker.services import trash as trash_services

ROLES = ("owner", "member", "viewer", "outsider", "anonymous")
P = "/api/v1/projects/news-topics"  # {P} in the table
R = "/api/v1/runs/{run_id}"          # {R} in the table
D = "/api/v1/deployments/{deployment_id}"  # {D}: the run's deployment to production
PROFILE = {"count": 100, "features": {"length": {"kind": "numeric", "edges": [0, 10, 80],
                                                "counts": [40, 60]}}}
X = "/api/v1/trash/experiments/{experiment_id}"  # {X}: the run's experiment, in the trash
B = "/api/v1/impact/4243"  # {B}: a business result of the run (SETUP)

#     operation            method    path                               own  mem  view out  anon
MATRIX = [
    ("projects list",     "get",    "/api/v1/projects/",                200, 200, 200, 200, 401),
    ("projects create",   "post",   "/api/v1/projects/",                201, 201, 201, 201, 401),
    ("project get",       "get",    "{P}/",                             200, 200, 200, 404, 401),
    ("project patch",     "patch",  "{P}/",                             200, 403, 403, 404, 401),
    ("project delete",    "delete", "{P}/",                             204, 403, 403, 404, 401),
    ("project restore",   "post",   "{P}/restore",                      200, 404, 404, 404, 401),
    ("audit log",         "get",    "{P}/audit-log/",                   200, 403, 403, 404, 401),
    ("trash",             "get",    "/api/v1/trash/",                   200, 200, 200, 200, 401),
    ("experiment restore", "post",  "{X}/restore",                      200, 404, 404, 404, 401),
    ("target get",        "get",    "{P}/target",                       200, 200, 200, 404, 401),
    ("target put",        "put",    "{P}/target",                       200, 403, 403, 404, 401),
    ("target delete",     "delete", "{P}/target",                       204, 403, 403, 404, 401),
    ("target history",    "get",    "{P}/target/history",               200, 200, 200, 404, 401),
    ("guardrails get",    "get",    "{P}/guardrails",                   200, 200, 200, 404, 401),
    ("guardrails put",    "put",    "{P}/guardrails",                   200, 403, 403, 404, 401),
    ("members list",      "get",    "{P}/members/",                     200, 200, 200, 404, 401),
    ("members add",       "post",   "{P}/members/",                     201, 403, 403, 404, 401),
    ("member patch",      "patch",  "{P}/members/member-user",          200, 403, 403, 404, 401),
    ("member delete",     "delete", "{P}/members/member-user",          204, 403, 403, 404, 401),
    ("invitations list",  "get",    "{P}/invitations/",                 200, 403, 403, 404, 401),
    ("invitation create", "post",   "{P}/invitations/",                 201, 403, 403, 404, 401),
    ("invitation revoke", "delete", "{P}/invitations/4242",             204, 403, 403, 404, 401),
    ("experiments list",  "get",    "{P}/experiments/",                 200, 200, 200, 404, 401),
    ("experiment create", "post",   "{P}/experiments/",                 201, 201, 403, 404, 401),
    ("experiment get",    "get",    "{P}/experiments/tfidf-lr",         200, 200, 200, 404, 401),
    ("experiment delete", "delete", "{P}/experiments/tfidf-lr",         204, 204, 403, 404, 401),
    ("runs search",       "get",    "{P}/runs/",                        200, 200, 200, 404, 401),
    ("run create",        "post",   "{P}/runs/",                        201, 201, 403, 404, 401),
    ("leaderboard",       "get",    "{P}/leaderboard",                  200, 200, 200, 404, 401),
    ("winner",            "get",    "{P}/winner",                       200, 200, 200, 404, 401),
    ("registered models", "get",    "{P}/models/",                      200, 200, 200, 404, 401),
    ("run get",           "get",    "{R}",                              200, 200, 200, 404, 401),
    ("run patch",         "patch",  "{R}",                              200, 200, 403, 404, 401),
    ("run delete",        "delete", "{R}",                              204, 204, 403, 404, 401),
    ("run restore",       "post",   "{R}/restore",                      200, 403, 403, 404, 401),
    ("heartbeat",         "post",   "{R}/heartbeat",                    200, 200, 403, 404, 401),
    ("finish",            "post",   "{R}/finish",                       200, 200, 403, 404, 401),
    ("log-batch",         "post",   "{R}/log-batch",                    200, 200, 403, 404, 401),
    ("history",           "get",    "{R}/history?key=loss&split=train", 200, 200, 200, 404, 401),
    ("metrics",           "get",    "{R}/metrics",                      200, 200, 200, 404, 401),
    ("artifacts list",    "get",    "{R}/artifacts/",                   200, 200, 200, 404, 401),
    ("artifact upload",   "post",   "{R}/artifacts/",                   201, 201, 403, 404, 401),
    ("artifact download", "get",    "{R}/artifacts/models/model.pkl",   200, 200, 200, 404, 401),
    ("artifact put",      "put",    "{R}/artifacts/models/model.pkl",   200, 200, 403, 404, 401),
    ("deployments list",  "get",    "{P}/deployments/",                 200, 200, 200, 404, 401),
    ("deploy",            "post",   "{P}/deployments/",                 201, 201, 403, 404, 401),
    ("deployment get",    "get",    "{D}",                              200, 200, 200, 404, 401),
    ("deployment end",    "post",   "{D}/end",                          200, 200, 403, 404, 401),
    ("live results",      "get",    "{D}/results",                      200, 200, 200, 404, 401),
    ("live result post",  "post",   "{D}/results",                      201, 201, 403, 404, 401),
    ("run profile post",  "post",   "{R}/profile",                      201, 201, 403, 404, 401),
    ("run profile",       "get",    "{R}/profile",                      200, 200, 200, 404, 401),
    ("live profile post", "post",   "{D}/profiles",                     201, 201, 403, 404, 401),
    ("live profiles",     "get",    "{D}/profiles",                     200, 200, 200, 404, 401),
    ("reference",         "get",    "{D}/reference",                    200, 200, 200, 404, 401),
    ("drift",             "get",    "{D}/drift",                        200, 200, 200, 404, 401),
    ("production",        "get",    "{P}/production",                   200, 200, 200, 404, 401),
    ("impact list",       "get",    "{P}/impact/",                      200, 200, 200, 404, 401),
    ("impact record",     "post",   "{P}/impact/",                      201, 201, 403, 404, 401),
    ("impact get",        "get",    "{B}",                              200, 200, 200, 404, 401),
    ("impact delete",     "delete", "{B}",                              204, 204, 403, 404, 401),
]


def _json(body):
    return lambda: {"data": body, "format": "json"}


# What each write sends; reads send nothing.
BODIES = {
    "projects create": _json({"slug": "churn", "name": "Churn", "target": TARGET}),
    "project patch": _json({"name": "News topics, renamed"}),
    "target put": _json({**TARGET, "threshold": 0.9}),
    "guardrails put": _json({"guardrails": [
        {"metric": "latency_ms", "split": "test", "op": "<=", "value": 40}]}),
    "members add": _json({"username": "newcomer", "role": "viewer"}),
    "member patch": _json({"role": "viewer"}),
    "invitation create": _json({"email": "dana@example.com", "role": "viewer"}),
    "experiment create": _json({"name": "distilbert", "hypothesis": "context helps"}),
    "run create": _json({"experiment": "tfidf-lr", "name": "lr-2", "params": {"C": 1}}),
    "run patch": _json({"notes": "looks promising", "tags": {"stage": "dev"}}),
    "finish": _json({"status": "finished"}),
    "log-batch": _json({"metrics": [{"key": "loss", "split": "train", "step": 1,
                                     "value": 0.4, "timestamp": 2000}],
                        "params": {"C": 1.0}, "tags": {"stage": "dev"}}),
    "deploy": lambda: {"data": {"environment": "shadow", "run": None}, "format": "json"},
    "deployment end": _json({"ended_at": None}),
    "live result post": _json({"window_start": "2026-11-02T00:00:00Z",
                               "window_end": "2026-11-09T00:00:00Z", "metrics": {"f1": 0.83},
                               "count": 1240, "labelled": 310}),
    "run profile post": _json(PROFILE),
    "live profile post": _json({"window_start": "2026-11-02T00:00:00Z",
                                "window_end": "2026-11-09T00:00:00Z", "profile": PROFILE}),
    "impact record": lambda: {"data": {
        "kind": "ab_test", "run": None, "metric": "first-contact resolution",
        "direction": "maximize", "control": {"successes": 3550, "n": 5000},
        "treatment": {"successes": 5624, "n": 7400}, "started_at": "2026-11-02T00:00:00Z",
        "ended_at": "2026-11-17T00:00:00Z"}, "format": "json"},
    "artifact upload": lambda: {"data": {"file": SimpleUploadedFile("roc.png", b"\x89PNG..."),
                                         "path": "plots/roc.png"}, "format": "multipart"},
    "artifact put": lambda: {"data": b"new model bytes",
                             "content_type": "application/octet-stream",
                             "HTTP_CONTENT_DISPOSITION": 'attachment; filename="model.pkl"'},
}


# What must be so before an operation can do anything (restore: something in the trash).
SETUP = {
    "project restore": lambda project, run: trash_services.delete_project(project=project,
                                                                          user=None),
    "run restore": lambda project, run: run_services.delete_run(run=run),
    "experiment restore": lambda project, run: experiment_services.delete_experiment(
        experiment=run.experiment),
    "run profile": lambda project, run: production_services.record_run_profile(
        run=run, profile=PROFILE),
    "reference": lambda project, run: production_services.record_run_profile(
        run=run, profile=PROFILE),
    "drift": lambda project, run: production_services.record_run_profile(
        run=run, profile=PROFILE),
    "invitation revoke": lambda project, run: Invitation.objects.create(
        pk=4242, project=project, email="dana@example.com", role="viewer",
        token_hash="0" * 64, expires_at=timezone.now() + timedelta(days=7)),
    "impact get": lambda project, run: _impact(project, run),
    "impact delete": lambda project, run: _impact(project, run),
}


def _impact(project, run) -> ImpactResult:
    return ImpactResult.objects.create(
        pk=4243, project=project, kind="backtest", run=run, metric="handling time",
        direction="minimize", unit="minutes", control={"mean": 12.4, "sd": 3.1, "n": 40},
        treatment={"mean": 11.8, "sd": 1.2, "n": 25},
        started_at=timezone.now() - timedelta(days=30), ended_at=timezone.now())


def prepare_operation(operation, project, run) -> None:
    """Bring about what the operation needs (see SETUP); nothing for most."""
    if operation in SETUP:
        SETUP[operation](project, run)
        project.refresh_from_db()
        run.refresh_from_db()


def make_served_run(project, owner, make_user):
    """A run of the owner's with a logged metric and an artifact, deployed to production
    (its deployment's id in `run.deployment_id`); plus a user to add."""
    make_user("newcomer")
    run, _ = run_services.create_run(project=project, user=owner, experiment="tfidf-lr",
                                     name="lr-1", params={"C": 1.0})
    metric_services.log_batch(run=run, metrics=[{"key": "loss", "split": "train", "step": 0,
                                                 "value": 0.5, "timestamp": 1000}])
    artifact_services.store_artifact(run=run, path="models/model.pkl",
                                     fileobj=ContentFile(b"model bytes"))
    run.deployment_id = deployment_services.start_deployment(
        project=project, user=owner, environment="production", run_id=str(run.id)).pk
    return run


def url_of(path: str, run) -> str:
    return path.format(P=P, R=R, D=D, X=X, B=B).format(run_id=run.id,
                                             deployment_id=getattr(run, "deployment_id", 0),
                                             experiment_id=getattr(run, "experiment_id", 0))


def request_operation(client, method, path, operation, run):
    kwargs = BODIES[operation]() if operation in BODIES else {}
    if operation in ("deploy", "impact record"):  # the run of this world
        kwargs["data"]["run"] = str(run.id)
    return getattr(client, method)(url_of(path, run), **kwargs)
