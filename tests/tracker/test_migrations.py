"""Upgrading keeps every stored point: the move to points keyed by (summary, step, timestamp)."""

import pytest
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("tracker", "0002_mlflow_fields_datasets_test_reveals")]
AFTER = [("tracker", "0003_metric_point_key")]


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


@pytest.mark.django_db(transaction=True)
def test_points_stored_before_the_new_key_are_all_there_after_it_and_back():
    old = migrate(BEFORE)
    user = old.get_model("auth", "User").objects.create(username="upgrader")
    project = old.get_model("tracker", "Project").objects.create(slug="up", name="up",
                                                                 created_by=user)
    experiment = old.get_model("tracker", "Experiment").objects.create(project=project,
                                                                       name="e")
    run = old.get_model("tracker", "Run").objects.create(
        project=project, experiment=experiment, started_at="2026-11-01T00:00:00Z")
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
        migrate(AFTER)  # leave the schema as the other tests expect it
