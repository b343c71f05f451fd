"""Two hosts as `make run` starts them, on one database and one Redis: each check-in once.

scripts/run.sh runs `celery worker -B`, a worker with its beat embedded, so a second machine
set up the same way brings a second beat: two dispatchers then run every interval, each
finding the same check-ins due, and two workers take the tasks they queue. Here two such
worker processes (tests/reports/test_worker.py, the dispatcher every second) share a Redis
queue. Three check-ins fall due at the same moment, and both dispatchers are made to take
them at the same moment too (the test holds the check-ins' rows until both dispatchers wait
for them), the race a conditional update must settle. The real SMTP server must receive one
email per check-in and recipient, and nothing more after further dispatcher rounds.
"""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from reports.checkins import schedule_checkin_now
from reports.models import CheckIn, Delivery, DeliveryStatus, Report
from reports.sample import build_sample_project
from tests.reports.test_worker import RECIPIENTS, wait_for
from tracker.models import Project

pytestmark = pytest.mark.django_db(transaction=True)

PROJECTS = ("Ticket routing A", "Ticket routing B", "Ticket routing C")


def sessions_waiting_on_a_lock() -> int:
    """Sessions of the test database waiting for a lock (each worker runs one task at once)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # fresh figures inside a transaction
        cursor.execute("SELECT count(*) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


def test_two_beats_and_two_workers_send_each_check_in_once(start_worker, smtp):
    inbox = smtp.start()
    first, second = start_worker(), start_worker()
    for worker in (first, second):  # both beats are sending the dispatcher
        wait_for(lambda w=worker: "Scheduler: Sending due task reports-dispatch-checkins"
                 in w.text(), 15, "beat's first round", worker)

    projects = []
    for number, name in enumerate(PROJECTS):
        project = build_sample_project(slug=f"two-beats-{number}", recipients=RECIPIENTS)
        Project.objects.filter(pk=project.pk).update(name=name)
        projects.append(project)
    due = timezone.now() + timedelta(seconds=2)  # all three at the same moment
    for project in projects:
        schedule_checkin_now(checkin=project.checkin, now=due)
    # Both dispatchers take them at the same moment: while the test holds their rows, each
    # dispatcher that finds them due waits at its update; once both wait, both go on.
    with transaction.atomic():
        list(CheckIn.objects.select_for_update().filter(project__in=projects))
        wait_for(lambda: sessions_waiting_on_a_lock() >= 2, 30,
                 "both dispatchers to wait on the due check-ins", first)
    expected = len(PROJECTS) * len(RECIPIENTS)
    wait_for(lambda: Delivery.objects.filter(report__project__in=projects,
                                             status=DeliveryStatus.SENT).count() >= expected,
             240, "every check-in's emails", first)
    time.sleep(4)  # four more rounds of each dispatcher: nothing else may arrive

    received = Counter((m["Subject"].split(" check-in:")[0], m["To"]) for m in inbox.messages)
    assert received == Counter({(name, to): 1 for name in PROJECTS for to in RECIPIENTS})
    for project in projects:
        [report] = Report.objects.filter(project=project, kind="scheduled",
                                         created_at__gt=project.checkin.updated_at)
        assert report.status == "done"
        assert sorted(report.deliveries.values_list("status", flat=True)) == ["sent", "sent"]
    # Both beats kept sending the dispatcher all along.
    for worker in (first, second):
        assert worker.text().count("Sending due task reports-dispatch-checkins") >= 5
