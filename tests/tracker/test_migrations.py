"""Upgrading keeps every stored point: points keyed by (summary, step, timestamp), then
points stored in blocks (a row per series and batch), and back."""

import math

import pytest
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("tracker", "0002_mlflow_fields_datasets_test_reveals")]
AFTER = [("tracker", "0003_metric_point_key")]
BLOCKS = [("tracker", "0004_point_blocks")]


def latest() -> list[tuple[str, str]]:
    """Every app's newest migration: the schema the other tests expect."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.loader.graph.leaf_nodes()


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def point_rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT summary_id, step, timestamp, value FROM tracker_metricpoint "
                       "ORDER BY summary_id, step, timestamp")
        return cursor.fetchall()


def a_run(apps):
    """A run in a project of its own, made with the models of an older schema."""
    user = apps.get_model("auth", "User").objects.create(username="upgrader")
    project = apps.get_model("tracker", "Project").objects.create(slug="up", name="up",
                                                                  created_by=user)
    experiment = apps.get_model("tracker", "Experiment").objects.create(project=project,
                                                                        name="e")
    return apps.get_model("tracker", "Run").objects.create(
        project=project, experiment=experiment, started_at="2026-11-01T00:00:00Z")


@pytest.mark.django_db(transaction=True)
def test_points_stored_before_the_new_key_are_all_there_after_it_and_back():
    old = migrate(BEFORE)
    run = a_run(old)
    series = old.get_model("tracker", "MetricSummary").objects.create(
        run=run, key="f1", split="validation", count=3)
    Point = old.get_model("tracker", "MetricPoint")
    Point.objects.bulk_create([Point(summary=series, step=1, timestamp=10, value=0.5),
                               Point(summary=series, step=1, timestamp=11, value=0.6),
                               Point(summary=series, step=2, timestamp=12, value=None)])
    stored = point_rows()
    try:
        new = migrate(AFTER)
        assert point_rows() == stored
        assert [f.name for f in new.get_model("tracker", "MetricPoint")._meta.pk_fields] == [
            "summary", "step", "timestamp"]
        # The key refuses a second copy of a point.
        with connection.cursor() as cursor, pytest.raises(IntegrityError):
            cursor.execute("INSERT INTO tracker_metricpoint (summary_id, step, timestamp, "
                           "value) VALUES (%s, 1, 10, 0.9)", [series.pk])
        migrate(BEFORE)
        assert point_rows() == stored
    finally:
        migrate(latest())  # leave the schema as the other tests expect it


@pytest.mark.django_db(transaction=True)
def test_points_move_into_blocks_and_back_with_every_value():
    old = migrate(AFTER)
    run = a_run(old)
    Summary = old.get_model("tracker", "MetricSummary")
    long = Summary.objects.create(run=run, key="loss", split="train", count=25_000)
    short = Summary.objects.create(run=run, key="f1", split="validation", count=4)
    Point = old.get_model("tracker", "MetricPoint")
    Point.objects.bulk_create(
        [Point(summary=long, step=s, timestamp=1000 + s, value=1 / (s + 1)) for s in range(25_000)]
        + [Point(summary=short, step=1, timestamp=10, value=0.5),
           Point(summary=short, step=1, timestamp=11, value=0.6),
           Point(summary=short, step=2, timestamp=12, value=None),
           Point(summary=short, step=3, timestamp=13, value=float("-inf"))])
    stored = point_rows()
    try:
        new = migrate(BLOCKS)
        from tracker.points import series_points

        found = series_points([long.pk, short.pk])
        assert len(found[long.pk]) == 25_000
        assert found[long.pk][:2] == [(0, 1000, 1.0), (1, 1001, 0.5)]
        assert found[short.pk][:2] == [(1, 10, 0.5), (1, 11, 0.6)]
        assert math.isnan(found[short.pk][2][2]) and found[short.pk][3] == (3, 13, -math.inf)
        blocks = new.get_model("tracker", "PointBlock").objects.filter(summary_id=long.pk)
        assert sorted(blocks.values_list("first_step", "last_step", "count")) == [
            (0, 9_999, 10_000), (10_000, 19_999, 10_000), (20_000, 24_999, 5_000)]
        migrate(AFTER)
        assert point_rows() == stored
    finally:
        migrate(latest())


IN_RUN_CONTEXT = [("tracker", "0011_deployments_and_live_results")]
LOGGED_MODEL_TABLE = [("tracker", "0012_logged_models")]


@pytest.mark.django_db(transaction=True)
def test_logged_models_move_from_their_run_to_their_table_and_back():
    old = migrate(IN_RUN_CONTEXT)
    run = a_run(old)
    model_id = f"m-{run.id.hex}-abcdef12"
    record = {"name": "model", "path": "model", "status": "LOGGED_MODEL_READY",
              "status_message": "", "model_type": "classifier", "tags": {"flavor": "sklearn"},
              "params": {"C": "1.0"}, "creator": "upgrader", "created_ms": 5, "updated_ms": 6,
              "metrics": [{"key": "acc", "value": 0.9, "step": 1, "timestamp": 7}]}
    old.get_model("tracker", "Run").objects.filter(pk=run.pk).update(
        context={"command": "train.py", "mlflow_logged_models": {model_id: record}})
    try:
        new = migrate(LOGGED_MODEL_TABLE)
        [moved] = new.get_model("tracker", "LoggedModel").objects.all()
        assert (moved.model_id, moved.run_id, moved.experiment_id, moved.name, moved.path,
                moved.model_type, moved.tags, moved.params, moved.metrics,
                moved.created_by.username, moved.created_ms, moved.updated_ms) == (
            model_id, run.pk, run.experiment_id, "model", "model", "classifier",
            {"flavor": "sklearn"}, {"C": "1.0"}, record["metrics"], "upgrader", 5, 6)
        assert new.get_model("tracker", "Run").objects.get(pk=run.pk).context == {
            "command": "train.py"}
        back = migrate(IN_RUN_CONTEXT)
        assert back.get_model("tracker", "Run").objects.get(pk=run.pk).context == {
            "command": "train.py", "mlflow_logged_models": {model_id: record}}
    finally:
        migrate(latest())
