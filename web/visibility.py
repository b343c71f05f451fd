"""Which test-split results a page may show.

The test values reports quote are always shown: the winner's and the baseline's, and the
target metric's judged value of each run that was the best model earlier (the best-so-far
history the verdict and the reports' progress chart quote). Every other value on the judged
split (measures of cost included: the pages hide the split, not some metrics of it) stays
hidden until someone asks to see it; each such reveal is a RevealedTestResults row (who,
when, which runs), because looking at test results while still choosing turns the test set
into a validation set. A reveal lasts for the rest of the browser session (its ids are kept
in the session). Nothing on a page prints a hidden value: tables, tooltips, guardrail
reasons, chart data and the CSV export all ask `shows` first.
"""

from tracker.models import Project, Target
from tracker.query.parser import parse_filter, parse_order_by
from tracker.query.syntax import And, Comparison, Not, Or
from tracker.selectors import runs as run_selectors
from tracker.selectors import targets as target_selectors
from tracker.selectors import winner as winner_selectors
from tracker.services import reveals as reveal_services

SESSION_KEY = "web:test-reveals:{project_id}"


def hidden_split(split: str | None, judged_on: str) -> bool:
    """True for the judged split (test) and its slices (test/long_texts)."""
    return bool(split) and (split == judged_on or split.startswith(judged_on + "/"))


class ResultVisibility:
    """Test-result visibility for one user, one project, one request.

    What the page has already read is passed in, so nothing is read twice: `criteria` (the
    target and guardrails), `standing` (the winner and the baseline) and `progress`
    (best_so_far's answer, whose improvements are the runs that have been the best model).
    """

    def __init__(self, request, project: Project, *, criteria=None, standing=None,
                 progress=None):
        self.request = request
        self.project = project
        self._criteria = criteria
        self._standing = standing
        self.target = (criteria.target if criteria is not None
                       else Target.objects.filter(project=project).first())
        self.judged_on = self.target.judged_on if self.target else "test"
        self.target_metric = self.target.metric if self.target else None
        self._always: set[str] | None = None
        self._revealed: set[str] | None = None
        self._earlier_best: set[str] | None = (
            None if progress is None else {str(p.run_id) for p in progress.improvements})

    @property
    def criteria(self) -> target_selectors.Criteria:
        """The target and guardrails (the guardrails read only when a page needs them)."""
        if self._criteria is None:
            self._criteria = target_selectors.read_criteria(project=self.project)
        return self._criteria

    @property
    def always(self) -> set[str]:
        """The winner and the baseline (worked out only when a test value is asked for)."""
        if self._always is None:
            standing = self._standing or winner_selectors.standing(project=self.project,
                                                                   criteria=self.criteria)
            self._always = {str(r.id) for r in (standing.winner, standing.baseline)
                            if r is not None}
        return self._always

    @property
    def earlier_best(self) -> set[str]:
        """The runs that have been the best model (worked out only when asked for, unless
        the page passed best_so_far's answer)."""
        if self._earlier_best is None:
            progress = winner_selectors.best_so_far(project=self.project, keep=0,
                                                    criteria=self.criteria)
            self._earlier_best = {str(p.run_id) for p in progress.improvements}
        return self._earlier_best

    @property
    def revealed(self) -> set[str]:
        if self._revealed is None:
            self._revealed = run_selectors.revealed_run_ids(
                project=self.project, user=self.request.user,
                reveal_ids=self.request.session.get(
                    SESSION_KEY.format(project_id=self.project.id), []))
        return self._revealed

    def is_hidden_split(self, split: str | None) -> bool:
        return hidden_split(split, self.judged_on)

    def shows(self, run_id, split: str | None, key: str | None = None) -> bool:
        """Whether this run's value of metric `key` on this split may be shown (without a
        key: whether all of its values on the split may)."""
        if not self.is_hidden_split(split):
            return True
        run_id = str(run_id)
        if run_id in self.always or run_id in self.revealed:
            return True
        return (key is not None and key == self.target_metric and split == self.judged_on
                and run_id in self.earlier_best)

    def hidden_runs(self, run_ids) -> list[str]:
        """The runs among `run_ids` whose test results are hidden."""
        return [str(r) for r in run_ids if not self.shows(r, self.judged_on)]

    def reveal(self, run_ids) -> int | None:
        """Record a reveal of these runs' test results and remember it for the session."""
        hidden = self.hidden_runs(run_ids)
        if not hidden:
            return None
        row = reveal_services.record_test_reveal(project=self.project, user=self.request.user,
                                                 run_ids=hidden)
        remember(self.request, self.project, row.id)
        self.revealed.update(hidden)
        return row.id


def remember(request, project: Project, reveal_id: int) -> None:
    key = SESSION_KEY.format(project_id=project.id)
    request.session[key] = [*request.session.get(key, []), reveal_id]


def _fields(node):
    if node is None:
        return
    if isinstance(node, Comparison):
        yield node.field
    elif isinstance(node, And | Or):
        for item in node.items:
            yield from _fields(item)
    elif isinstance(node, Not):
        yield from _fields(node.item)


def reads_split(*, filter_text: str, order_by: str, judged_on: str) -> bool:
    """Whether a (valid) filter or sort order reads values of the judged split: filtering or
    sorting on test results is looking at them."""
    fields = list(_fields(parse_filter(filter_text or "")))
    fields += [field for field, _ in parse_order_by(order_by or "")]
    return any(f.kind == "metric" and hidden_split(f.split, judged_on) for f in fields)
