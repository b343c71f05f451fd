# The real MLflow client against a live server, as tests/mlflow sets it up.
from tests.mlflow.conftest import (  # noqa: F401
    _live_server_without_nagle,
    alice,
    make_token,
    tracking,
)

# A real Celery worker with its beat, and a real SMTP server, as tests/reports sets them up.
from tests.reports.test_worker import smtp, start_worker  # noqa: E402, F401
