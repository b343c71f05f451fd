"""The verdict shown for a project, looked up in one place.

The check-in reports define the verdict (Target met / On track / At risk / No progress, or
with a model live in production Holding / Slipping / Below the bar in production, with one
sentence why; see reports/verdict.py). The UI asks reports.assembly for the
verdict a check-in would give right now, through the light path that reads only what the
rules need, so the projects overview can show one per project.
"""

from dataclasses import dataclass

from reports.assembly import current_verdict
from tracker.models import Project
from tracker.selectors.winner import BestSoFar, Standing


@dataclass(frozen=True)
class Verdict:
    key: str  # reports.verdict's kind ("met", …, "below_bar"); also a CSS class
    label: str  # the words on the badge
    sentence: str  # why, in one sentence


def project_verdict(*, project: Project, standing: Standing | None = None,
                    progress: BestSoFar | None = None) -> Verdict:
    """The verdict on `project` now (since its last check-in); `standing` and `progress`
    (best_so_far's answer) when the page has already worked them out."""
    verdict = current_verdict(project=project, current=standing, progress=progress)
    return Verdict(verdict.kind, verdict.label, verdict.sentence)
