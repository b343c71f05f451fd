"""Domain errors. The API turns each into `{"error": ..., "field": ...}` with its status."""


class TargetlineError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra  # more keys for the error body, e.g. the position in a filter


class InvalidInput(TargetlineError):
    status = 400


class NotFound(TargetlineError):
    status = 404


class Conflict(TargetlineError):
    status = 409


class LimitExceeded(TargetlineError):
    status = 413


class Forbidden(TargetlineError):
    status = 403


class Gone(TargetlineError):
    """Something that worked once and no longer does (a used, expired or revoked link)."""

    status = 410


class MailUnavailable(TargetlineError):
    """The mail server could not take a message that must go out now: nothing was saved."""

    status = 503


class StorageUnavailable(TargetlineError):
    """The artifact storage is full (507 Insufficient Storage) or cannot be written (503)."""

    status = 503

    def __init__(self, message: str, *, field: str | None = None, status: int = 503):
        super().__init__(message, field=field)
        self.status = status
