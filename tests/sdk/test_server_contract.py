"""What the SDK needs from the server beyond issue 2's contract: finish takes the client's end time.

A finish replayed from the spool (the server was down, or `targetline sync` sends it
days later) must record when the run ended, not when the server heard of it.
"""

import pytest

from tests.factories import make_run

pytestmark = pytest.mark.django_db


def test_finish_records_the_end_time_the_client_sends(client_for, project, owner):
    run = make_run(project, owner, name="offline", finish=None)
    response = client_for(owner).post(
        f"/api/v1/runs/{run.id}/finish",
        {"status": "finished", "ended_at": "2026-11-02T09:30:00.250+00:00"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["ended_at"] == "2026-11-02T09:30:00.250000+00:00"


def test_finish_without_an_end_time_uses_the_servers_clock(client_for, project, owner):
    run = make_run(project, owner, name="online", finish=None)
    response = client_for(owner).post(f"/api/v1/runs/{run.id}/finish",
                                      {"status": "failed", "ended_at": None}, format="json")
    assert response.status_code == 200
    assert response.json()["ended_at"] is not None


def test_a_bad_end_time_is_a_400_naming_the_field(client_for, project, owner):
    run = make_run(project, owner, name="bad", finish=None)
    response = client_for(owner).post(f"/api/v1/runs/{run.id}/finish",
                                      {"ended_at": "yesterday"}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "ended_at"
