"""The mlflow client, for the MLflow importer (importer.py): an optional dependency (the
`import` extra), how a tracking server is reached and checked, how its searches are paged,
and the Targetline id of an MLflow run.
"""

import uuid
from collections.abc import Callable, Iterator

try:  # the optional `import` extra: the server itself never needs the mlflow client
    from mlflow import MlflowClient
    from mlflow import artifacts as mlflow_artifacts
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request
except ImportError:  # pragma: no cover - exercised by installs without the extra
    MlflowClient = ViewType = get_default_host_creds = http_request = mlflow_artifacts = None

    class MlflowException(Exception):
        """Stands in for mlflow's exception when the client is not installed."""

INSTALL_HINT = ("the MLflow importer needs the mlflow client: pip install '.[import]' in "
                "Targetline's folder (or pip install 'mlflow-skinny>=3,<4')")
PAGE = 1000
PROBE_SECONDS = 15


class ImportRefused(Exception):
    """The import cannot start (no client, a server that does not answer, an unknown
    experiment): the message says what to do."""


def connect(tracking_uri: str):
    """An mlflow client of the server, checked to answer as one; ImportRefused otherwise."""
    if MlflowClient is None:
        raise ImportRefused(INSTALL_HINT)
    refused = f"cannot read the MLflow tracking server at {tracking_uri}"
    try:
        if tracking_uri.startswith(("http://", "https://")):
            # Asked once, without the client's retries (seven, with backoff: minutes).
            answer = http_request(get_default_host_creds(tracking_uri),
                                  "/api/2.0/mlflow/experiments/search", "GET", max_retries=0,
                                  timeout=PROBE_SECONDS, raise_on_status=False,
                                  params={"max_results": 1})
            if answer.status_code in (401, 403):
                raise ImportRefused(
                    f"{refused}: it refused the credentials (HTTP {answer.status_code}); set "
                    "MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and "
                    "MLFLOW_TRACKING_PASSWORD, as for any MLflow client")
            if answer.status_code != 200:
                raise ImportRefused(f"{refused}: it answered HTTP {answer.status_code} where an "
                                    "MLflow server lists its experiments")
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        client.search_experiments(max_results=1)
    except (MlflowException, OSError) as exc:  # requests' errors are OSErrors
        raise ImportRefused(f"{refused}: {message(exc)}") from None
    return client


def pages(search: Callable, **kwargs) -> Iterator:
    """Every item of a paged mlflow client search."""
    token = None
    while True:
        page = search(max_results=PAGE, page_token=token, **kwargs)
        yield from page
        token = page.token
        if not token:
            return


def message(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return str(text).splitlines()[0][:300] if text else type(exc).__name__


def run_uuid(mlflow_run_id: str) -> uuid.UUID:
    """The id a run imported from MLflow gets: its own (32 hex digits), or for a run id that
    is no UUID (other MLflow-compatible servers) one derived from it, the same every time."""
    try:
        return uuid.UUID(hex=mlflow_run_id)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"mlflow-run:{mlflow_run_id}")


def counted(count: int, word: str, plural: str = "") -> str:
    """"1 version", "2 versions" ("1 alias", "2 aliases" with `plural`)."""
    return f"{count} {word if count == 1 else plural or word + 's'}"
