"""The project every row of the authorization table is asked about, built once per module:
news-topics with an owner, a member and a viewer, a run with a metric, a param, a tag,
artifacts and a reference profile, an experiment, a registered model with a version and an
alias, a logged model, a check-in and a rendered report; and an outsider who owns a project
of their own.
"""

import json
import re
import uuid
from datetime import timedelta
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from reports import checkins
from reports.models import Report, ReportKind, ReportStatus, Webhook
from tests.authorization_rows import PROFILE, ROLES
from tracker.models import Deployment, Role
from tracker.services import artifacts as artifact_services
from tracker.services import impact as impact_services
from tracker.services import invitations as invitation_services
from tracker.services import metrics as metric_services
from tracker.services import production as production_services
from tracker.services import projects as project_services
from tracker.services import runs as run_services
from tracker.services import tokens as token_services

SLUG = "news-topics"
MODEL = "topic-classifier"
CHECKIN = {"cadence": "weekly", "weekday": "monday", "local_time": "09:00",
           "time_zone": "Europe/Paris", "recipients": ["viewer-user"]}
TARGET = {"metric": "f1", "direction": "maximize", "threshold": 0.85, "judged_on": "test",
          "selected_on": "validation"}


def _user(username: str):
    return get_user_model().objects.create_user(username=username,
                                                email=f"{username}@example.com")


def _mlflow(client: Client, method: str, operation: str, body: dict) -> dict:
    url = f"/api/2.0/mlflow/{operation}"
    answer = (client.get(url, body) if method == "get" else
              client.post(url, json.dumps(body), content_type="application/json"))
    assert answer.status_code == 200, (operation, answer.content)
    return answer.json()


def _run(project, owner):
    run, _ = run_services.create_run(project=project, user=owner, experiment="tfidf-lr",
                                     name="lr-1", params={"C": 1.0}, tags={"stage": "dev"})
    metric_services.log_batch(run=run, metrics=[{"key": "loss", "split": "train", "step": 0,
                                                 "value": 0.5, "timestamp": 1000}])
    for path in ("models/model.pkl", "model/MLmodel"):
        artifact_services.store_artifact(run=run, path=path, fileobj=ContentFile(b"bytes"))
    production_services.record_run_profile(run=run, profile=PROFILE)
    return run


def _registry(owner_api: Client, run) -> str:
    """A registered model of news-topics with version 1 of the run, tagged and aliased; and
    a logged model of the run's experiment made outside any run (its id): MLflow 3's GenAI
    models, kept in the experiment's project and read and written by its roles."""
    tag = [{"key": "owner", "value": "nlp"}]
    _mlflow(owner_api, "post", "registered-models/create", {
        "name": MODEL, "tags": [*tag, {"key": "targetline.project", "value": SLUG}]})
    _mlflow(owner_api, "post", "model-versions/create", {
        "name": MODEL, "source": f"runs:/{run.id.hex}/model", "run_id": run.id.hex,
        "tags": tag})
    _mlflow(owner_api, "post", "registered-models/alias", {
        "name": MODEL, "alias": "champion", "version": "1"})
    logged = _mlflow(owner_api, "post", "logged-models", {
        "experiment_id": str(run.experiment_id), "tags": [{"key": "stage", "value": "dev"}]})
    return logged["model"]["info"]["model_id"]


def _report(project) -> Report:
    now = timezone.now()
    report = Report.objects.create(project=project, kind=ReportKind.MANUAL,
                                   status=ReportStatus.RENDERED, html="<p>Check-in</p>",
                                   period_start=now - timedelta(days=7), period_end=now)
    report.pdf.save("check-in.pdf", ContentFile(b"%PDF-1.4 check-in"))
    return report


def _clients(users: dict, raw_tokens: dict, revoked: str) -> tuple[dict, dict]:
    """(API clients by role, web clients by role): tokens for the APIs, sessions for pages."""
    api, web = {}, {}
    for role, user in users.items():
        api[role] = Client(headers={"Authorization": f"Bearer {raw_tokens[role]}"})
        web[role] = Client()
        web[role].force_login(user)
    api["anonymous"] = web["anonymous"] = Client()
    api["revoked"] = web["revoked"] = Client(headers={"Authorization": f"Bearer {revoked}"})
    assert set(api) == set(web) == set(ROLES)
    return api, web


def build_world() -> SimpleNamespace:
    owner = _user("olivia")
    staff = get_user_model().objects.create_user(username="staff-user", is_staff=True,
                                                 email="staff-user@example.com")
    users = {"owner": owner, "member": _user("member-user"), "viewer": _user("viewer-user"),
             "outsider": _user("outsider"), "staff": staff}
    _user("newcomer")  # for the rows that add a member
    project = project_services.create_project(
        user=owner, slug=SLUG, name="News topics", target=dict(TARGET),
        guardrails=[{"metric": "latency_ms", "split": "test", "op": "<=", "value": 50}])
    for role in (Role.MEMBER, Role.VIEWER):  # staff-user is a member of nothing
        project_services.set_member(project=project, username=users[role].username, role=role)
    project_services.create_project(user=users["outsider"], slug="their-project", name="Theirs")
    tokens = {role: token_services.create_token(user=user, name="matrix")
              for role, user in users.items()}
    old, revoked = token_services.create_token(user=owner, name="old laptop")
    token_services.revoke_token(token=old)
    api, web = _clients(users, {role: raw for role, (_, raw) in tokens.items()}, revoked)
    run = _run(project, owner)
    checkins.save_checkin(project=project, data=dict(CHECKIN))
    logged_model_id = _registry(api["owner"], run)  # its alias champion deploys version 1
    experiment = _mlflow(api["owner"], "get", "experiments/get",
                         {"experiment_id": str(run.experiment_id)})["experiment"]
    _mlflow(api["owner"], "post", "experiments/set-experiment-tag", {
        "experiment_id": experiment["experiment_id"], "key": "team", "value": "nlp"})
    invitation = invitation_services.invite(project=project, email="newcomer@example.com",
                                            role=Role.VIEWER, by=owner,
                                            link_for=lambda token: f"/invitations/{token}/")
    deployment = Deployment.objects.get(project=project)
    impact = impact_services.record_impact(
        project=project, user=owner, kind="ab_test", metric="first-contact resolution",
        direction="maximize", control={"successes": 3550, "n": 5000},
        treatment={"successes": 5624, "n": 7400}, deployment_id=deployment.pk,
        started_at=timezone.now() - timedelta(days=14), ended_at=timezone.now())
    return SimpleNamespace(
        api=api, web=web, slug=SLUG, invitation_id=str(invitation.pk), run_id=str(run.id),
        run_hex=run.id.hex,
        experiment="tfidf-lr", experiment_id=experiment["experiment_id"],
        experiment_name=experiment["name"], model=MODEL,
        logged_model_id=logged_model_id, report_id=str(_report(project).pk),
        deployment_id=str(deployment.pk), impact_id=str(impact.pk),
        token_id=str(tokens["owner"][0].pk), checkin=dict(CHECKIN),
        webhook_id=str(Webhook.objects.create(
            project=project, url="https://93.184.215.14/hooks/news", kind="slack",
            events=["report"], secret="s" * 64, created_by=owner).pk),
        upload=lambda name, data: SimpleUploadedFile(name, data),
        # What an outsider must never read in an answer: any name or id of news-topics.
        secrets=[SLUG, "News topics", str(run.id), run.id.hex, "tfidf-lr", MODEL, "lr-1"])


# The objects a request names, as attributes of a world.
NAMED = ("slug", "run_id", "run_hex", "experiment", "experiment_id", "experiment_name",
         "model", "logged_model_id", "report_id", "token_id", "invitation_id",
         "webhook_id", "deployment_id", "impact_id")


def ghost_of(world: SimpleNamespace) -> SimpleNamespace:
    """The world with every object a request names replaced by one that does not exist:
    what an outsider is told about news-topics must be what anyone is told about these."""
    run = uuid.uuid4()
    return SimpleNamespace(**{
        **vars(world), "slug": "no-such-project", "run_id": str(run), "run_hex": run.hex,
        "experiment": "no-such-experiment", "experiment_id": "987654321",
        "experiment_name": world.experiment_name.replace(world.experiment, "no-such-experiment")
        .replace(world.slug, "no-such-project"), "model": "no-such-model",
        "logged_model_id": f"m-{run.hex}", "report_id": "987654",
        "token_id": "987654", "invitation_id": "987654", "webhook_id": "987654",
        "deployment_id": "987655", "impact_id": "987656"})


def anonymised(world: SimpleNamespace, text: str) -> str:
    """`text` with the world's named objects replaced by their names (<run_id>, ...)."""
    values = sorted(((getattr(world, name), name) for name in NAMED), key=lambda v: -len(v[0]))
    for value, name in values:
        text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", f"<{name}>", text)
    return text


def path_values(world: SimpleNamespace, route: str) -> dict[str, str]:
    """The value of each path parameter of `route`: objects of news-topics."""
    artifact = "models/model.pkl"
    if "mlflow-artifacts" in route:
        artifact = f"{world.experiment_id}/{world.run_hex}/artifacts/{artifact}"
    return {"slug": world.slug, "run_id": world.run_id, "username": "member-user",
            "name": world.experiment, "path": artifact, "report_id": world.report_id,
            "token_id": world.token_id, "experiment_id": world.experiment_id,
            "model_id": world.logged_model_id, "key": "stage",
            "invitation_id": world.invitation_id, "webhook_id": world.webhook_id,
            "deployment_id": world.deployment_id, "impact_id": world.impact_id}


def url_of(world: SimpleNamespace, route: str) -> str:
    """`route` with its parameters filled in, as a path."""
    values = path_values(world, route)
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m[1]], route)
