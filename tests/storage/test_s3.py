"""ARTIFACT_STORAGE_URL=s3://bucket/prefix: artifacts and report PDFs in an S3-compatible store.

Against moto's S3 server on loopback (conftest.py), through the real v1 API, the real MLflow
client on a live server, and the real purge of the trash.
"""

import hashlib
import io
import random
from datetime import timedelta
from pathlib import Path
from unittest import mock

import mlflow
import pytest
from botocore.exceptions import ClientError
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse
from django.utils import timezone
from mlflow.entities import LoggedModelOutput, LoggedModelStatus
from mlflow.exceptions import MlflowException
from pypdf import PdfReader

from config.settings import artifact_storages
from reports import rendering, workflow
from reports.sample import build_sample_project
from tests.reports.test_worker import free_port
from tests.storage.conftest import PREFIX, keys, object_bytes, use_storage
from tracker.models import Artifact, Run
from tracker.services import artifacts as artifact_services
from tracker.services import runs as run_services
from tracker.services import trash
from tracker.services.artifacts import _storage_error
from tracker.storage import _as_os_error

CONTENT = random.Random(3).randbytes(9 * 1024 * 1024 + 123)  # past boto3's multipart threshold


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def run(project, owner):
    return run_services.create_run(project=project, user=owner, experiment="e", name="r")[0]


def listed(api, run) -> list[str]:
    return [a["path"] for a in api.get(f"/api/v1/runs/{run.id}/artifacts/").json()["results"]]


def put(api, run, content: bytes, path: str = "models/model.bin"):
    return api.put(f"/api/v1/runs/{run.id}/artifacts/{path}", content,
                   content_type="application/octet-stream")


def test_an_artifact_is_an_object_under_the_prefix_and_downloads_intact(api, run,
                                                                         s3_server, s3_storage):
    response = put(api, run, CONTENT)

    assert response.status_code == 201
    key = f"{PREFIX}/runs/{run.id}/models/model.bin"
    assert keys(s3_server, s3_storage) == [key]
    assert object_bytes(s3_server, s3_storage, key) == CONTENT
    [stored] = Artifact.objects.filter(run=run)
    assert (stored.size, stored.sha256) == (len(CONTENT), sha(CONTENT))
    download = api.get(f"/api/v1/runs/{run.id}/artifacts/models/model.bin")
    assert download.status_code == 200
    assert download["Content-Length"] == str(len(CONTENT))
    assert download["X-Checksum-SHA256"] == sha(CONTENT)
    assert b"".join(download.streaming_content) == CONTENT


def test_a_download_streams_the_object_in_pieces(api, run, s3_storage):
    assert put(api, run, CONTENT).status_code == 201

    download = api.get(f"/api/v1/runs/{run.id}/artifacts/models/model.bin")

    pieces = list(download.streaming_content)
    assert max(len(piece) for piece in pieces) < 1024 * 1024  # never the whole file at once
    assert b"".join(pieces) == CONTENT


def test_replacing_an_artifact_keeps_one_object_the_new_one(api, run, s3_server, s3_storage,
                                                            django_capture_on_commit_callbacks):
    assert put(api, run, b"the first model").status_code == 201

    with django_capture_on_commit_callbacks(execute=True):  # the old one goes on commit
        assert put(api, run, b"the better model").status_code == 200

    [key] = keys(s3_server, s3_storage)
    assert object_bytes(s3_server, s3_storage, key) == b"the better model"
    download = api.get(f"/api/v1/runs/{run.id}/artifacts/models/model.bin")
    assert b"".join(download.streaming_content) == b"the better model"


def test_the_mlflow_client_logs_and_downloads_through_the_proxy(alice, tmp_path, s3_server,
                                                                s3_storage):
    (tmp_path / "weights.bin").write_bytes(CONTENT)
    mlflow.set_experiment("s3")
    with mlflow.start_run() as active:
        mlflow.log_artifact(str(tmp_path / "weights.bin"), artifact_path="model")
        mlflow.log_text("precision is fine", "notes/summary.txt")
    run_id = active.info.run_id

    assert keys(s3_server, s3_storage) == [f"{PREFIX}/runs/{Run.objects.get().id}/{path}"
                                           for path in ("model/weights.bin",
                                                        "notes/summary.txt")]
    assert [f.path for f in alice.list_artifacts(run_id, "model")] == ["model/weights.bin"]
    local = Path(alice.download_artifacts(run_id, "model/weights.bin", str(tmp_path / "dl")))
    assert sha(local.read_bytes()) == sha(CONTENT)
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/summary.txt") == (
        "precision is fine")


def test_a_logged_model_is_kept_in_the_bucket(alice, tmp_path, s3_server, s3_storage):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "MLmodel").write_text("flavors: {}\n")
    (model_dir / "model.pkl").write_bytes(CONTENT[:300_000])
    mlflow.set_experiment("s3-models")
    with mlflow.start_run() as active:
        model = alice.create_logged_model(experiment_id=active.info.experiment_id,
                                          name="model", source_run_id=active.info.run_id)
        alice.log_outputs(active.info.run_id, [LoggedModelOutput(model.model_id, step=0)])
        alice.log_model_artifacts(model.model_id, str(model_dir))
        alice.finalize_logged_model(model.model_id, LoggedModelStatus.READY)

    run = Run.objects.get()
    assert keys(s3_server, s3_storage) == [f"{PREFIX}/runs/{run.id}/model/MLmodel",
                                           f"{PREFIX}/runs/{run.id}/model/model.pkl"]
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{model.model_id}",
                                                     dst_path=str(tmp_path / "dl")))
    assert (local / "model.pkl").read_bytes() == CONTENT[:300_000]


def test_a_report_pdf_is_stored_in_the_bucket_and_downloads_intact(api, owner, s3_server,
                                                                   s3_storage):
    project = build_sample_project(slug="s3-report", recipients=["cfo@example.com"])
    report = workflow.send_now(project=project, to=["cfo@example.com"], queue=False)
    # No Chromium needed: this is about where the PDF is kept.
    with mock.patch.object(rendering, "draw_charts", lambda figures: {
            name: {"error": "not drawn here"} for name in figures}):
        assert rendering.render_report(report_id=report.pk).state == "rendered"

    report.refresh_from_db()
    key = f"{PREFIX}/{report.pdf.name}"
    assert key in keys(s3_server, s3_storage)
    response = api.get(f"/api/v1/projects/{project.slug}/reports/{report.pk}/pdf")
    assert response.status_code == 200
    pdf = b"".join(response.streaming_content)
    assert pdf == object_bytes(s3_server, s3_storage, key)
    assert "Support ticket routing" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_a_purged_run_leaves_no_object(api, project, owner, run, s3_server, s3_storage,
                                       django_capture_on_commit_callbacks):
    kept = run_services.create_run(project=project, user=owner, experiment="e", name="kept")[0]
    for target in (run, kept):
        artifact_services.store_artifact(run=target, path="model.bin",
                                         fileobj=io.BytesIO(b"weights"))
    assert api.delete(f"/api/v1/runs/{run.id}").status_code in (200, 204)

    assert len(keys(s3_server, s3_storage)) == 2  # in the trash, restorable: still there
    with django_capture_on_commit_callbacks(execute=True):  # the files go once rows are gone
        purged = trash.purge_expired(now=timezone.now() + timedelta(days=365))

    assert purged["runs"] == 1
    assert keys(s3_server, s3_storage) == [f"{PREFIX}/runs/{kept.id}/model.bin"]


def test_a_purged_project_leaves_no_object_of_its_artifacts_or_reports(
        api, project, run, s3_server, s3_storage, django_capture_on_commit_callbacks):
    artifact_services.store_artifact(run=run, path="model.bin", fileobj=io.BytesIO(b"weights"))
    report = workflow.send_now(project=project, to=["cfo@example.com"], queue=False)
    with mock.patch.object(rendering, "draw_charts", lambda figures: {
            name: {"error": "not drawn here"} for name in figures}):
        assert rendering.render_report(report_id=report.pk).state == "rendered"
    assert len(keys(s3_server, s3_storage)) == 2
    assert api.delete(f"/api/v1/projects/{project.slug}").status_code in (200, 204)

    with django_capture_on_commit_callbacks(execute=True):
        purged = trash.purge_expired(now=timezone.now() + timedelta(days=365))

    assert purged["projects"] == 1
    assert keys(s3_server, s3_storage) == []


# --- a store that refuses ---------------------------------------------------------------------

@pytest.mark.parametrize(("case", "said"), [
    ("wrong key", "S3 bucket '{bucket}': 403 Forbidden: check AWS_ACCESS_KEY_ID and "
                  "AWS_SECRET_ACCESS_KEY"),
    ("no bucket", "S3 bucket 'no-such-bucket': NoSuchBucket: The specified bucket does not "
                  "exist"),
])
def test_an_upload_the_store_refuses_answers_503_and_lists_nothing(
        api, run, settings, monkeypatch, s3_server, bucket, case, said):
    if case == "wrong key":
        env = s3_server.env(bucket, AWS_SECRET_ACCESS_KEY="not-the-secret")
    else:
        env = s3_server.env("no-such-bucket")
    use_storage(settings, monkeypatch, env)

    response = put(api, run, CONTENT)

    assert response.status_code == 503
    assert response.json() == {
        "error": f"the artifact storage cannot be written ({said.format(bucket=bucket)}): "
                 "nothing was stored; upload it again later", "field": "file"}
    assert listed(api, run) == []
    assert keys(s3_server, bucket) == []
    uploads = s3_server.client().list_multipart_uploads(Bucket=bucket)
    assert uploads.get("Uploads", []) == []  # no part left behind either


def test_an_unreachable_store_answers_503(api, run, settings, monkeypatch, s3_server, bucket):
    use_storage(settings, monkeypatch, s3_server.env(
        bucket, AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}"))

    response = put(api, run, b"weights")

    assert response.status_code == 503
    assert response.json()["error"].startswith(
        "the artifact storage cannot be written (S3 bucket "
        f"'{bucket}': Could not connect to the endpoint URL")
    assert listed(api, run) == []


def test_a_download_the_store_refuses_answers_503(api, run, settings, monkeypatch, s3_server,
                                                  s3_storage):
    assert put(api, run, b"weights").status_code == 201
    use_storage(settings, monkeypatch, s3_server.env(s3_storage,
                                                     AWS_SECRET_ACCESS_KEY="not-the-secret"))

    response = api.get(f"/api/v1/runs/{run.id}/artifacts/models/model.bin")

    assert response.status_code == 503
    assert response.json() == {
        "error": f"the artifact storage cannot be read (S3 bucket '{s3_storage}': "
                 "SignatureDoesNotMatch: The request signature we calculated does not match "
                 "the signature you provided. Check your key and signing method.): try again "
                 "later", "field": None}


def test_the_mlflow_client_is_told_the_store_refuses(alice, tmp_path, settings, monkeypatch,
                                                     s3_server, bucket):
    use_storage(settings, monkeypatch, s3_server.env("no-such-bucket"))
    mlflow.set_experiment("refused")
    with mlflow.start_run() as active, pytest.raises(MlflowException) as refused:
        mlflow.log_text("hello", "notes/hello.txt")

    # 503: the client retries (with backoff; these tests turn its retries off), then gives up
    assert "too many 503 error responses" in str(refused.value)
    assert alice.list_artifacts(active.info.run_id) == []


def test_the_deploy_check_names_a_store_it_cannot_reach(settings, monkeypatch, s3_server,
                                                        bucket):
    use_storage(settings, monkeypatch, s3_server.env("no-such-bucket"))
    with pytest.raises(SystemCheckError) as refused:
        call_command("check", "--deploy", "--tag", "storage")
    assert ("the artifact storage cannot be reached: S3 bucket 'no-such-bucket': 404 Not Found: "
            "no such bucket") in str(refused.value)

    use_storage(settings, monkeypatch, s3_server.env(bucket))
    call_command("check", "--deploy", "--tag", "storage")  # no error


def test_the_storage_url_must_be_an_s3_url():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="ARTIFACT_STORAGE_URL must look like "
                       r"s3://bucket/prefix \(or be empty for the folder ARTIFACT_ROOT\), "
                       "not 'gs://bucket'"):
        artifact_storages("gs://bucket")
    assert artifact_storages("s3://bucket")["default"]["OPTIONS"]["location"] == ""


def test_the_web_ui_streams_an_artifact_and_says_when_the_store_refuses(
        client, owner, api, run, settings, monkeypatch, s3_server, s3_storage):
    assert put(api, run, CONTENT).status_code == 201
    client.force_login(owner)
    url = reverse("web:artifact", args=[run.id, "models/model.bin"])

    page = client.get(url)
    assert page.status_code == 200
    assert page["Content-Disposition"] == 'attachment; filename="model.bin"'
    assert b"".join(page.streaming_content) == CONTENT

    use_storage(settings, monkeypatch, s3_server.env(s3_storage,
                                                     AWS_SECRET_ACCESS_KEY="not-the-secret"))
    refused = client.get(url)
    assert refused.status_code == 503
    assert "Storage unavailable" in refused.content.decode()
    assert "the artifact storage cannot be read (S3 bucket" in refused.content.decode()


def test_a_full_store_is_a_full_disk():
    """MinIO's answer when its disks are full is ENOSPC, which uploads answer 507."""
    full = ClientError({"Error": {"Code": "XMinioStorageFull",
                                  "Message": "Storage backend has reached its minimum free "
                                             "drive threshold."},
                        "ResponseMetadata": {"HTTPStatusCode": 507}}, "PutObject")
    error = _storage_error(_as_os_error(full, bucket="targetline", name="runs/x/model.bin"))
    assert (error.status, error.message) == (507, "the artifact storage is full: nothing was "
                                             "stored; upload it again once the server has "
                                             "free space")
