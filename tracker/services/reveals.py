"""Test results revealed while choosing: who looked at which runs' test values."""

import uuid

from tracker.errors import InvalidInput
from tracker.models import Project, RevealedTestResults


def record_test_reveal(*, project: Project, user, run_ids) -> RevealedTestResults:
    """Record that `user` looked at test-split results of these runs (not the winner or the
    baseline, whose test values are always shown).

    Looking at test results while still choosing turns the test set into a validation set;
    reports count these rows to say how often it happened.
    """
    ids = sorted({str(uuid.UUID(str(r))) for r in run_ids})
    if not ids:
        raise InvalidInput("name at least one run whose test results to show", field="run")
    return RevealedTestResults.objects.create(project=project, user=user, run_ids=ids)
