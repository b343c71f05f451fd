"""Run artifacts: multipart upload, list, download, replace, raw PUT, and paths that are refused."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tracker.services import runs as run_services

MODEL = b"\x80\x04\x95 pickled model " + bytes(range(256)) * 40


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def run(project, owner):
    run, _ = run_services.create_run(project=project, user=owner, experiment="tfidf-lr",
                                     name="lr-1")
    return run


def _upload(api, run, content: bytes, name: str = "model.pkl", path: str | None = None):
    data = {"file": SimpleUploadedFile(name, content)}
    if path is not None:
        data["path"] = path
    return api.post(f"/api/v1/runs/{run.id}/artifacts/", data, format="multipart")


def _download(api, run, path: str):
    response = api.get(f"/api/v1/runs/{run.id}/artifacts/{path}")
    body = b"".join(response.streaming_content) if response.status_code == 200 else None
    return response, body


def test_upload_answers_size_and_sha256(api, run, media_root):
    response = _upload(api, run, MODEL, path="models/model.pkl")

    assert response.status_code == 201
    body = response.json()
    assert body["path"] == "models/model.pkl"
    assert body["size"] == len(MODEL)
    assert body["sha256"] == hashlib.sha256(MODEL).hexdigest()
    assert body["url"] == f"http://testserver/api/v1/runs/{run.id}/artifacts/models/model.pkl"
    # Stored under the temporary MEDIA_ROOT, not var/.
    assert (media_root / "runs" / str(run.id) / "models" / "model.pkl").read_bytes() == MODEL


def test_without_a_path_the_file_name_is_used(api, run):
    response = _upload(api, run, b"a,b\n1,2\n", name="predictions.csv")

    assert response.status_code == 201
    assert response.json()["path"] == "predictions.csv"


def test_list_shows_every_artifact_in_path_order(api, run):
    _upload(api, run, b"png", name="roc.png", path="plots/roc.png")
    _upload(api, run, MODEL, path="models/model.pkl")

    response = api.get(f"/api/v1/runs/{run.id}/artifacts/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(a["path"], a["size"]) for a in results] == [
        ("models/model.pkl", len(MODEL)), ("plots/roc.png", 3)]
    assert results[0]["sha256"] == hashlib.sha256(MODEL).hexdigest()


def test_download_returns_the_same_bytes(api, run):
    _upload(api, run, MODEL, path="models/model.pkl")

    response, content = _download(api, run, "models/model.pkl")

    assert response.status_code == 200
    assert content == MODEL
    assert response["X-Checksum-SHA256"] == hashlib.sha256(MODEL).hexdigest()
    assert 'filename="model.pkl"' in response["Content-Disposition"]


def test_uploading_to_the_same_path_replaces_the_file(api, run, media_root,
                                                     django_capture_on_commit_callbacks):
    _upload(api, run, b"first version", path="models/model.pkl")
    with django_capture_on_commit_callbacks(execute=True):  # the old file goes on commit
        second = _upload(api, run, b"second, longer version", path="models/model.pkl")

    assert second.status_code == 200  # replaced, not created
    assert second.json()["size"] == len(b"second, longer version")
    listed = api.get(f"/api/v1/runs/{run.id}/artifacts/").json()["results"]
    assert [a["path"] for a in listed] == ["models/model.pkl"]
    assert _download(api, run, "models/model.pkl")[1] == b"second, longer version"
    # The old file is gone rather than kept next to the new one, which was written beside it
    # (under another name) before the old one was let go.
    [stored] = (media_root / "runs" / str(run.id) / "models").iterdir()
    assert stored.read_bytes() == b"second, longer version"
    assert list((media_root / ".incoming").iterdir()) == []


@pytest.mark.parametrize("path", ["../escape.txt", "models/../../escape.txt", ".."])
def test_a_path_with_dot_dot_is_refused(api, run, path, media_root):
    response = _upload(api, run, b"evil", path=path)

    assert response.status_code == 400
    assert response.json()["field"] == "path"
    assert "'..'" in response.json()["error"]
    assert api.get(f"/api/v1/runs/{run.id}/artifacts/").json()["results"] == []


def test_upload_without_a_file_field_names_the_field(api, run):
    response = api.post(f"/api/v1/runs/{run.id}/artifacts/", {"path": "x.txt"},
                        format="multipart")

    assert response.status_code == 400
    assert response.json()["field"] == "file"


def test_download_of_an_unknown_artifact_is_404(api, run):
    _upload(api, run, MODEL, path="models/model.pkl")

    response, _ = _download(api, run, "models/other.pkl")

    assert response.status_code == 404
    assert response.json() == {"error": "run has no artifact 'models/other.pkl'",
                               "field": "path"}


def test_put_with_content_disposition_stores_raw_bytes_at_the_path(api, run):
    response = api.put(f"/api/v1/runs/{run.id}/artifacts/reports/eval.json",
                       data=b'{"f1": 0.86}', content_type="application/octet-stream",
                       HTTP_CONTENT_DISPOSITION='attachment; filename="eval.json"')

    assert response.status_code == 201
    assert response.json()["path"] == "reports/eval.json"
    assert response.json()["sha256"] == hashlib.sha256(b'{"f1": 0.86}').hexdigest()
    assert _download(api, run, "reports/eval.json")[1] == b'{"f1": 0.86}'


def test_put_of_raw_bytes_needs_nothing_but_the_path(api, run):
    response = api.put(f"/api/v1/runs/{run.id}/artifacts/reports/eval.json",
                       data=b'{"f1": 0.86}', content_type="application/octet-stream")

    assert response.status_code == 201, response.json()


def test_a_deleted_run_takes_no_artifacts(api, run):
    run_services.delete_run(run=run)

    response = _upload(api, run, MODEL)

    assert response.status_code == 409
    assert "was deleted" in response.json()["error"]


def test_download_answers_whatever_the_client_accepts(api, run):
    _upload(api, run, MODEL, path="models/model.pkl")

    response = api.get(f"/api/v1/runs/{run.id}/artifacts/models/model.pkl",
                       HTTP_ACCEPT="application/octet-stream")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == MODEL
