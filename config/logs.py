"""Log lines as JSON objects, one per line, when LOG_FORMAT=json (docs/operations.md#logs).

One formatter for every process: Django's LOGGING (web and worker), Celery's own worker
and task loggers (config/celery.py) and gunicorn's error and access logs
(config/gunicorn.py). Each line has `time`, `level`, `logger` and `message`; what is known
of the request or task is added: Django's request log (`method`, `path`, `status`), a
gunicorn access line (`method`, `path`, `query`, `status`, `duration_ms`, `bytes`,
`remote_addr`, `user_agent`), a task's `task_name` and `task_id`; an exception comes as
`exc_info` text.
"""

import logging
import logging.config

from celery import current_task
from django.conf import settings
from django.http import HttpRequest
from gunicorn import glogging
from pythonjsonlogger.json import JsonFormatter


def configure(config: dict) -> None:
    """Django's LOGGING_CONFIG: `config` (settings.LOGGING) applied, and with LOG_FORMAT=json
    Python's warnings sent through logging too, rather than printed raw to stderr."""
    logging.config.dictConfig(config)
    if settings.LOG_FORMAT == "json":
        logging.captureWarnings(True)


# gunicorn's access-log atoms (its access_log_format letters) and the fields they become.
_ACCESS_FIELDS = {"m": "method", "U": "path", "q": "query", "s": "status", "M": "duration_ms",
                  "B": "bytes", "h": "remote_addr", "a": "user_agent"}


class JsonLines(JsonFormatter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", ["asctime", "levelname", "name", "message"])
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level",
                                            "name": "logger"})
        kwargs.setdefault("datefmt", "%Y-%m-%dT%H:%M:%S%z")
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data, record, message_dict) -> None:
        request = getattr(record, "request", None)
        args = record.args if record.name == "gunicorn.access" else None
        super().add_fields(log_data, record, message_dict)
        # Django's request log passes the request itself, which JSON cannot hold.
        if isinstance(request, HttpRequest):
            log_data.pop("request", None)
            log_data["method"], log_data["path"] = request.method, request.path
        if "status_code" in log_data:
            log_data["status"] = log_data.pop("status_code")
        if isinstance(args, dict):  # gunicorn's access line: its atoms by letter
            for atom, field in _ACCESS_FIELDS.items():
                if atom in args:
                    log_data[field] = args[atom]
            for field in ("status", "duration_ms", "bytes"):
                value = log_data.get(field)
                if isinstance(value, str) and value.isdigit():
                    log_data[field] = int(value)
        task = current_task
        if task and getattr(task, "request", None) is not None and task.request.id:
            log_data["task_name"] = task.name
            log_data["task_id"] = task.request.id


class GunicornLogger(glogging.Logger):
    """gunicorn's logger, its error and access lines in JSON (config/gunicorn.py uses it
    when LOG_FORMAT=json); where they go is still up to --error-logfile/--access-logfile."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonLines())
