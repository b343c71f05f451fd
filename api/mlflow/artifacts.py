"""MLflow's artifact proxy (`mlflow server --serve-artifacts`), onto Targetline artifacts;
and the tracking API's listing of a run's artifacts.

Runs answer with `artifact_uri = mlflow-artifacts:/<experiment>/<run>/artifacts`,
which the client turns into requests here:
- PUT  /api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<path>  (raw bytes)
- GET  /api/2.0/mlflow-artifacts/artifacts?path=<exp>/<run>/artifacts[/<dir>]  (listing)
- GET  /api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<path>  (download)
Files are stored with tracker.services.artifacts.store_artifact, so they are the run's
Targetline artifacts (same storage, size and checksum, same v1 download URL).
A logged model of no run answers with `<exp>/models/<model id>/artifacts` (as mlflow
server): its files are its own; that path of a run's model reaches its run's folder.
"""

import mimetypes
import posixpath
import re
import tempfile
import urllib.parse

from django.http import FileResponse

from api.mlflow import authorization, fields, placement, shapes
from api.mlflow.endpoint import endpoint, handle_errors, json_response, mlflow_view
from api.mlflow.errors import ENDPOINT_NOT_FOUND, MlflowError, invalid, not_found
from api.mlflow.logged_models import find_logged_model
from tracker.models import Artifact
from tracker.services import artifacts as artifact_services
from tracker.storage import open_stored

_CHUNK = 1024 * 1024


def safe_path(path: str) -> str:
    """A relative artifact path, its `.` segments dropped; MLflow's "Invalid path" (as
    mlflow.utils.uri.validate_path_is_safe) for one that is absolute, climbs with `..` (also
    percent-encoded), or holds a backslash, `#` or a NUL."""
    decoded = path
    while (unquoted := urllib.parse.unquote(decoded)) != decoded:
        decoded = unquoted
    parts = decoded.split("/")
    if (decoded.startswith("/") or ".." in parts or any(c in decoded for c in "\\#\0")
            or re.match(r"^[A-Za-z]:[/\\\\]", decoded)):
        raise invalid("Invalid path")
    return "/".join(part for part in parts if part not in ("", "."))


class _Place:
    """Where a proxied path's files are: the rows holding them, the owner new files get
    (store_artifact's run= or logged_model=), the path inside those rows (None at the
    top, `<experiment>/<run or model>`), and what to call the owner in a message."""

    def __init__(self, rows, owner: dict, inner: str | None, what: str):
        self.rows, self.owner, self.inner, self.what = rows, owner, inner, what


def _place(user, path: str, *, write: bool = False) -> _Place:
    """The files a proxied path names: `<exp>/<run>/artifacts/<path>` (a run's artifacts)
    or `<exp>/models/<model id>/artifacts/<path>` (a logged model's files: its folder among
    its run's artifacts, or its own files when it has no run)."""
    path = safe_path(path or "")
    parts = path.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise not_found(f"No artifacts at {path!r}: paths look like "
                        "<experiment>/<run>/artifacts/<file>")
    if parts[1] == "models" and len(parts) >= 3:
        top, rest = 3, parts[3:]
        model = find_logged_model(user, parts[2], write=write)
    else:
        top, rest, model = 2, parts[2:], None
    if rest and rest[0] != "artifacts":
        raise not_found(f"No artifacts at {path!r}: paths look like "
                        "<experiment>/<run>/artifacts/<file> or "
                        "<experiment>/models/<model>/artifacts/<file>")
    inner = "/".join(parts[top + 1:]) if rest else None
    if model is None:
        run = authorization.run_for(user, parts[1], write=write)
        return _Place(run.artifacts.all(), {"run": run}, inner, f"run {run.id.hex}")
    if model.run is None:
        return _Place(Artifact.objects.filter(logged_model=model), {"logged_model": model},
                      inner, f"logged model {model.model_id}")
    if inner is not None:  # the model's folder among its run's artifacts
        inner = f"{model.path}/{inner}".strip("/")
    return _Place(model.run.artifacts.all(), {"run": model.run}, inner,
                  f"run {model.run.id.hex}")


def list_children(rows, path: str) -> list[dict]:
    """The files and folders directly under `path` among the artifact rows (basenames)."""
    prefix = f"{path}/" if path else ""
    files: dict[str, dict] = {}
    rows = rows.filter(path__startswith=prefix) if prefix else rows
    for artifact_path, size in rows.values_list("path", "size"):
        rest = artifact_path[len(prefix):]
        if "/" in rest:
            name = rest.split("/", 1)[0]
            files[name] = {"path": name, "is_dir": True}
        else:
            files.setdefault(rest, {"path": rest, "is_dir": False, "file_size": size})
    return [files[name] for name in sorted(files)]


@handle_errors
def artifact_list(request):
    """GET artifacts?path=...: MLflow's ListArtifacts of the artifact proxy."""
    if request.method != "GET":
        raise MlflowError(f"{request.method} is not supported on {request.path}",
                          ENDPOINT_NOT_FOUND)
    user = authorization.authenticate(request)
    path = request.GET.get("path", "")
    if not safe_path(path):
        return json_response({})
    place = _place(user, path)
    if place.inner is None:
        return json_response({"files": [{"path": "artifacts", "is_dir": True}]})
    if place.inner and place.rows.filter(path=place.inner).exists():
        return json_response({})  # a file, not a folder: MLflow lists nothing
    children = list_children(place.rows, place.inner)
    return json_response({"files": children} if children else {})


@handle_errors
def artifact_detail(request, path: str):
    """GET downloads, PUT uploads one artifact file."""
    user = authorization.authenticate(request)
    if request.method not in ("GET", "PUT"):
        raise MlflowError(f"{request.method} is not supported on {request.path}",
                          ENDPOINT_NOT_FOUND)
    place = _place(user, path, write=request.method == "PUT")
    inner = place.inner
    if not inner:
        raise invalid(f"Invalid artifact path {path!r}: name a file under artifacts/")
    if request.method == "GET":
        artifact = place.rows.filter(path=inner).first()
        if artifact is None:
            raise not_found(f"No such file or directory: '{inner}' in {place.what}")
        response = FileResponse(open_stored(artifact.file, what="artifact's file"),
                                content_type=artifact.content_type or "application/octet-stream")
        response["Content-Disposition"] = (
            f'attachment; filename="{posixpath.basename(inner)}"')
        return response
    # Spooled to disk past 8 MB, so a large model file never sits in memory.
    with tempfile.SpooledTemporaryFile(max_size=8 * _CHUNK) as spooled:
        while chunk := request.read(_CHUNK):
            spooled.write(chunk)
        spooled.seek(0)
        content_type = request.META.get("CONTENT_TYPE", "")
        if not content_type or content_type.startswith(("application/x-www-form",
                                                        "application/octet-stream")):
            content_type = mimetypes.guess_type(inner)[0] or ""
        artifact_services.store_artifact(**place.owner, path=inner, fileobj=spooled,
                                         content_type=content_type)
    return json_response({})


@endpoint("GET")
def list_run_artifacts(request, user, data):
    """GET artifacts/list: a run's artifacts under `path`, with run-relative paths."""
    run = authorization.run_for(user, fields.run_id(data))
    path = safe_path(data.get("path") or "")
    experiment_id = placement.experiment_id_for(run.experiment, run.project, user)
    files = [{**f, "path": f"{path}/{f['path']}" if path else f["path"]}
             for f in list_children(run.artifacts.all(), path)]
    return {"root_uri": shapes.artifact_uri(run, experiment_id), "files": files}


@mlflow_view("GET")
def server_info(request):
    """GET /api/3.0/mlflow/server-info: what the client checks before proxied transfers."""
    return json_response({
        "store_type": "SqlStore",
        "workspaces_enabled": False,
        "trace_archival_enabled": False,
        "multipart_uploads_enabled": False,
        "multipart_downloads_enabled": False,
        "presigned_upload_run_id_supported": False,
        "presigned_upload_model_id_supported": False,
        "features_enabled": {"gateway": False},
    })
