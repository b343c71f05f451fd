"""MLflow's error shape: `{"error_code": "...", "message": "..."}` with MLflow's HTTP statuses."""

from tracker import database
from tracker.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LimitExceeded,
    NotFound,
    StorageUnavailable,
)

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
PERMISSION_DENIED = "PERMISSION_DENIED"
UNAUTHENTICATED = "UNAUTHENTICATED"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
BAD_REQUEST = "BAD_REQUEST"
INTERNAL_ERROR = "INTERNAL_ERROR"
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"

# As mlflow.exceptions.ERROR_CODE_TO_HTTP_STATUS: note RESOURCE_ALREADY_EXISTS is a 400.
HTTP_STATUS = {
    INVALID_PARAMETER_VALUE: 400,
    BAD_REQUEST: 400,
    RESOURCE_ALREADY_EXISTS: 400,
    RESOURCE_DOES_NOT_EXIST: 404,
    ENDPOINT_NOT_FOUND: 404,
    PERMISSION_DENIED: 403,
    UNAUTHENTICATED: 401,
    REQUEST_LIMIT_EXCEEDED: 429,
    TEMPORARILY_UNAVAILABLE: 503,
    INTERNAL_ERROR: 500,
}


class MlflowError(Exception):
    """An error answered in MLflow's shape; with `retry_after` (seconds), a Retry-After;
    `status` when the HTTP status is not the error code's (a full artifact storage: 507)."""

    def __init__(self, message: str, error_code: str = INVALID_PARAMETER_VALUE, *,
                 retry_after: int | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.retry_after = retry_after
        self._status = status

    @property
    def status(self) -> int:
        return self._status or HTTP_STATUS.get(self.error_code, 500)

    def as_dict(self) -> dict:
        return {"error_code": self.error_code, "message": self.message}


def invalid(message: str) -> MlflowError:
    return MlflowError(message, INVALID_PARAMETER_VALUE)


def not_found(message: str) -> MlflowError:
    return MlflowError(message, RESOURCE_DOES_NOT_EXIST)


def already_exists(message: str) -> MlflowError:
    return MlflowError(message, RESOURCE_ALREADY_EXISTS)


def database_unavailable() -> MlflowError:
    """The database is away for a moment (tracker.database): 503, which the MLflow client
    retries after Retry-After for its reads and logging calls."""
    return MlflowError(database.message(), TEMPORARILY_UNAVAILABLE,
                       retry_after=database.retry_after())


def from_domain(exc: Exception) -> MlflowError:
    """The MLflow error for a Targetline domain error.

    MLflow answers INVALID_PARAMETER_VALUE for a changed param, a write to a
    deleted run and an oversized batch alike, so conflicts and limits become that.
    """
    message = getattr(exc, "message", str(exc))
    if isinstance(exc, NotFound):
        return MlflowError(message, RESOURCE_DOES_NOT_EXIST)
    if isinstance(exc, Forbidden):
        return MlflowError(message, PERMISSION_DENIED)
    if isinstance(exc, StorageUnavailable):  # 507 is final for the client, 503 retried
        return MlflowError(message, TEMPORARILY_UNAVAILABLE if exc.status == 503 else
                           INTERNAL_ERROR, status=exc.status)
    if isinstance(exc, InvalidInput | Conflict | LimitExceeded):
        return MlflowError(message, INVALID_PARAMETER_VALUE)
    return MlflowError(message, INVALID_PARAMETER_VALUE)
