"""The Celery app. Settings come from Django's settings under the CELERY_ namespace."""

import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger
from django.conf import settings

from config.logs import JsonLines

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("targetline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def json_log_lines(logger, **kwargs) -> None:
    """LOG_FORMAT=json: the worker's own log lines (set up by Celery, not by Django's
    LOGGING) in JSON too, wherever --logfile sends them."""
    if settings.LOG_FORMAT != "json":
        return
    for handler in logger.handlers:
        handler.setFormatter(JsonLines())
