"""What a model version's source may be: mlflow server's refusals of sources that name a
local path, another host, or climb out of where they point (mlflow/server/handlers.py,
`_validate_source_run`), with its messages.

Targetline copies nothing and reads no source: a version points at a run's files. Its
source is still handed to every client that loads the version, so one that addresses the
server's disk or another host, or hides a `..`, is refused as mlflow server refuses it.
"""

import posixpath
import re
import urllib.parse

from api.mlflow.errors import invalid

# The schemes whose URIs name a host a client would connect to.
_HOST_SCHEMES = {"mlflow-artifacts", "http", "https", "ftp", "sftp"}


def check_source(source: str) -> None:
    """MLflow's error for a version source that is local, addresses a host, or is not an
    absolute path free of `..`, `.` and NUL (also percent-encoded)."""
    parsed = urllib.parse.urlparse(source)
    scheme = parsed.scheme.lower()
    if scheme in _HOST_SCHEMES and parsed.netloc:
        raise invalid(
            f"'source' cannot use the '{scheme}' scheme: the '{scheme}' scheme addresses a host "
            "other than the tracking server's configured artifact storage, so the server would "
            "connect to the host named in the URI. A version's source names a run's files on "
            "this server (runs:/, models:/ or mlflow-artifacts:/ without a host).")
    if scheme in ("", "file") or re.match(r"^[A-Za-z]$", scheme):  # "C:\..." is local too
        local = urllib.parse.unquote(parsed.path) if scheme == "file" else source
        raise invalid(
            f"Invalid model version source: '{posixpath.normpath(local)}'. To use a local path "
            "as a model version source, the run_id request parameter has to be specified and "
            "the local path has to be contained within the artifact directory of the run "
            "specified by the run_id.")
    decoded = source
    while (unquoted := urllib.parse.unquote_plus(decoded)) != decoded:
        decoded = unquoted
    path = re.sub(r"/+", "/", urllib.parse.urlparse(decoded).path.rstrip("/"))
    if ("\0" in path or ".." in decoded.split("/") or not path.startswith("/")
            or posixpath.normpath(path) != path):
        raise invalid(
            f"Invalid model version source: '{source}'. If supplying a source as an http, "
            "https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute "
            "path must be provided without relative path references present. Please provide "
            "an absolute path.")
