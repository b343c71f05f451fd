# The real MLflow client against a live server, as tests/mlflow sets it up.
from tests.mlflow.conftest import (  # noqa: F401
    _live_server_without_nagle,
    alice,
    make_token,
    tracking,
)
