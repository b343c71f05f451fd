"""Two hosts as `make run` starts them, on one database and one Redis: each check-in once.

scripts/run.sh runs `celery worker -B`, a worker with its beat embedded, so a second machine
set up the same way brings a second beat: two dispatchers then run every interval, each
finding the same check-ins due, and two workers take the tasks they queue. Here two such
worker processes (tests/reports/test_worker.py, the dispatcher every second) share a Redis
queue; three check-ins fall due at the same moment, and the real SMTP server must receive
one email per check-in and recipient, and nothing more after further dispatcher rounds.
"""

import time
from collections import Counter

import pytest
from django.utils import timezone

from reports.checkins import schedule_checkin_now
from reports.models import Delivery, DeliveryStatus, Report
from reports.sample import build_sample_project
from tests.reports.test_worker import RECIPIENTS, wait_for
from tracker.models import Project

pytestmark = pytest.mark.django_db(transaction=True)

PROJECTS = ("Ticket routing A", "Ticket routing B", "Ticket routing C")


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
    due = timezone.now()  # all three due at the same moment, for both dispatchers alike
    for project in projects:
        schedule_checkin_now(checkin=project.checkin, now=due)
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
