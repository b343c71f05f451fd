"""MLflow's artifact proxy (`mlflow server --serve-artifacts`), onto Targetline artifacts;
and the tracking API's listing of a run's artifacts.

Runs answer with `artifact_uri = mlflow-artifacts:/<experiment>/<run>/artifacts`,
which the client turns into requests here:
- PUT  /api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<path>  (raw bytes)
- GET  /api/2.0/mlflow-artifacts/artifacts?path=<exp>/<run>/artifacts[/<dir>]  (listing)
- GET  /api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<path>  (download)
Files are stored with tracker.services.artifacts.store_artifact, so they are the run's
Targetline artifacts (same storage, size and checksum, same v1 download URL).
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
from tracker.models import Run
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


def _split(path: str) -> tuple[str, str, str | None]:
    """(experiment id, run id, path inside the run's artifacts or None) of a proxied path."""
    path = safe_path(path or "")
    parts = path.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise not_found(f"No artifacts at {path!r}: paths look like "
                        "<experiment>/<run>/artifacts/<file>")
    if len(parts) >= 3 and parts[2] != "artifacts":
        raise not_found(f"No artifacts at {path!r}: Targetline stores run artifacts only "
                        "(<experiment>/<run>/artifacts/...)")
    inner = "/".join(parts[3:]) if len(parts) >= 3 else None
    return parts[0], parts[1], inner


def list_children(run: Run, path: str) -> list[dict]:
    """The files and folders directly under `path` in the run's artifacts (basenames)."""
    prefix = f"{path}/" if path else ""
    files: dict[str, dict] = {}
    rows = run.artifacts.filter(path__startswith=prefix) if prefix else run.artifacts.all()
    for artifact_path, size in rows.values_list("path", "size"):
        rest = artifact_path[len(prefix):]
        if "/" in rest:
            name = rest.split("/", 1)[0]
            files[name] = {"path": name, "is_dir": True}
        else:
            files.setdefault(rest, {"path": rest, "is_dir": False, "file_size": size})
    return [files[name] for name in sorted(files)]


def _run(user, run_id: str, *, write: bool = False) -> Run:
    return authorization.run_for(user, run_id, write=write)


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
    _experiment_id, run_id, inner = _split(path)
    run = _run(user, run_id)
    if inner is None:
        return json_response({"files": [{"path": "artifacts", "is_dir": True}]})
    if inner and run.artifacts.filter(path=inner).exists():
        return json_response({})  # a file, not a folder: MLflow lists nothing
    children = list_children(run, inner)
    return json_response({"files": children} if children else {})


@handle_errors
def artifact_detail(request, path: str):
    """GET downloads, PUT uploads one artifact file."""
    user = authorization.authenticate(request)
    _experiment_id, run_id, inner = _split(path)
    if not inner:
        raise invalid(f"Invalid artifact path {path!r}: name a file under artifacts/")
    if request.method == "GET":
        run = _run(user, run_id)
        artifact = run.artifacts.filter(path=inner).first()
        if artifact is None:
            raise not_found(f"No such file or directory: '{inner}' in run {run.id.hex}")
        response = FileResponse(open_stored(artifact.file, what="artifact's file"),
                                content_type=artifact.content_type or "application/octet-stream")
        response["Content-Disposition"] = (
            f'attachment; filename="{posixpath.basename(inner)}"')
        return response
    if request.method == "PUT":
        run = _run(user, run_id, write=True)
        # Spooled to disk past 8 MB, so a large model file never sits in memory.
        with tempfile.SpooledTemporaryFile(max_size=8 * _CHUNK) as spooled:
            while chunk := request.read(_CHUNK):
                spooled.write(chunk)
            spooled.seek(0)
            content_type = request.META.get("CONTENT_TYPE", "")
            if not content_type or content_type.startswith(("application/x-www-form",
                                                            "application/octet-stream")):
                content_type = mimetypes.guess_type(inner)[0] or ""
            artifact_services.store_artifact(run=run, path=inner, fileobj=spooled,
                                             content_type=content_type)
        return json_response({})
    raise MlflowError(f"{request.method} is not supported on {request.path}", ENDPOINT_NOT_FOUND)


@endpoint("GET")
def list_run_artifacts(request, user, data):
    """GET artifacts/list: a run's artifacts under `path`, with run-relative paths."""
    run = authorization.run_for(user, fields.run_id(data))
    path = safe_path(data.get("path") or "")
    experiment_id = placement.experiment_id_for(run.experiment, run.project, user)
    files = [{**f, "path": f"{path}/{f['path']}" if path else f["path"]}
             for f in list_children(run, path)]
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
