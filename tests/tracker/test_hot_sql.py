"""tracker.hot_sql: the plain statements of the hot paths give what the ORM gives."""

import pytest

from tests.factories import make_run
from tracker import hot_sql
from tracker.models import Run

pytestmark = pytest.mark.django_db


def test_an_instance_from_a_row_is_the_one_the_orm_reads(project, owner):
    made = make_run(project, owner, name="svm", experiment="svm",
                    series={"validation.f1": 0.84}, params={"model": "svm"})
    row = hot_sql.fetch_one(f"SELECT {hot_sql.columns(Run)} FROM {Run._meta.db_table} "
                            "WHERE id = %s", [made.pk])
    fast, orm = hot_sql.instance(Run, row), Run.objects.get(pk=made.pk)
    for field in Run._meta.concrete_fields:
        assert getattr(fast, field.attname) == getattr(orm, field.attname), field.name
    assert (fast._state.adding, fast._state.db) == (False, "default")
    assert fast.project.slug == project.slug  # its relations load as the ORM's do
    fast.notes = "saved through the ORM"
    fast.save(update_fields=["notes"])
    assert Run.objects.get(pk=made.pk).notes == "saved through the ORM"


@pytest.mark.django_db(transaction=True)  # outside a transaction, as runs/get sends them
def test_queries_sent_together_each_give_their_rows(project, owner):
    run = make_run(project, owner, name="svm", experiment="svm",
                   series={"validation.f1": 0.84, "train.loss": 0.3})
    names, missing = hot_sql.fetch_all_of(
        ("SELECT name FROM tracker_run WHERE id = %s", [run.pk]),
        ("SELECT key FROM tracker_metricsummary WHERE run_id = %s AND key = %s",
         [run.pk, "nothing"]))
    assert (names, missing) == ([("svm",)], [])
