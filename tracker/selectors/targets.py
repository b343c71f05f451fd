"""What the target and the guardrails need a word about, as `{"field", "message"}` warnings:
a metric no run has logged on the split it names (a typo, or runs still to come), and a
stored guardrail that winner selection leaves out because it would read the test set.
Also what a project judges runs by (`Criteria`), read once a request."""

from dataclasses import dataclass

from tracker import mlflow_mapping, winner_rules
from tracker.models import Guardrail, Project, Target
from tracker.selectors.metrics import logged_summaries
from tracker.winner_rules import GuardrailRule

KEYS_NAMED = 8  # metric keys a warning names before "and N more"


@dataclass(frozen=True)
class Criteria:
    """A project's target and guardrails, read once for a request (two queries).

    Every selector that judges runs (the winner, the leaderboard, best so far, the
    warnings) takes one, so a page that asks several of them reads the target and the
    guardrails once instead of once a selector. It is not kept beyond the request that
    read it: a change of the target shows on the next page.
    """

    target: Target | None
    guardrails: tuple[Guardrail, ...]  # as stored, in their order
    # The guardrails winner selection applies: a stored one that checks a measure of quality
    # on the judged split (refused today, kept from before) is left out, as it would make
    # selection read the test set. The target's pages show it with a warning.
    rules: tuple[GuardrailRule, ...]

    @property
    def judged_on(self) -> str:
        return self.target.judged_on if self.target else "test"

    @property
    def selected_on(self) -> str:
        return self.target.selected_on if self.target else "validation"


def read_criteria(*, project: Project) -> Criteria:
    """The project's target and guardrails, and the guardrail rules winner selection applies."""
    target = Target.objects.filter(project=project).first()
    guardrails = tuple(Guardrail.objects.filter(project=project))
    judged_on = target.judged_on if target else "test"
    rules = tuple(GuardrailRule(g.metric, g.split, g.op, g.value) for g in guardrails
                  if not winner_rules.reads_judged_split(
                      metric=g.metric, split=g.split, judged_on=judged_on,
                      cost_metrics=project.cost_metrics,
                      target_metric=target.metric if target else None))
    return Criteria(target, guardrails, rules)


def target_warnings(*, project: Project, criteria: Criteria | None = None) -> list[dict]:
    """The target's metric when no run has logged it on the selection split (while runs have
    logged others: a project without metrics yet has nothing to say)."""
    target = (criteria or read_criteria(project=project)).target
    if target is None:
        return []
    message = not_logged_message(project=project, metric=target.metric,
                                 split=target.selected_on)
    return [{"field": "target.metric", "message": message}] if message else []


def guardrail_warnings(*, project: Project, criteria: Criteria | None = None) -> list[dict]:
    """Each guardrail whose metric no run has logged on its split, and each stored guardrail
    that checks a measure of quality on the judged split: kept, but not applied."""
    criteria = criteria or read_criteria(project=project)
    target = criteria.target
    judged_on, selected_on = criteria.judged_on, criteria.selected_on
    warnings = []
    for i, guardrail in enumerate(criteria.guardrails):
        where = f"guardrails[{i}]"
        if winner_rules.reads_judged_split(
                metric=guardrail.metric, split=guardrail.split, judged_on=judged_on,
                cost_metrics=project.cost_metrics, target_metric=target and target.metric):
            warnings.append({"field": f"{where}.split", "message": (
                f"The guardrail on {guardrail.metric} on {guardrail.split} is not applied: "
                f"checked there, it would make winner selection read the {judged_on} set. "
                f"Put it on {selected_on}, or remove it.")})
            continue
        message = not_logged_message(project=project, metric=guardrail.metric,
                                     split=guardrail.split)
        if message:
            warnings.append({"field": f"{where}.metric", "message": message})
    return warnings


def not_logged_message(*, project: Project, metric: str, split: str) -> str | None:
    """ "No run has logged f1 on validation yet; runs log accuracy and loss." when the
    project's runs have logged metrics but never `metric` on `split`; None otherwise."""
    logged = logged_summaries(project=project).order_by()
    if logged.filter(key=metric, split=split).exists():
        return None
    series = [(key, on) for key, on in logged.values_list("key", "split").distinct()[:1000]
              if not mlflow_mapping.is_system_metric(key)]
    if not series:
        return None
    on_split = sorted({key for key, on in series if on == split})
    elsewhere = sorted({on for key, on in series if key == metric})
    message = f"No run has logged {metric} on {split} yet; "
    message += f"runs log {_listed(on_split)}" if on_split else f"runs log no metric on {split}"
    if elsewhere:
        message += f"; {metric} is logged on {_listed(elsewhere)}"
    return message + "."


def _listed(names: list[str]) -> str:
    """ "a", "a and b", "a, b and c", "a, b, …, h and 4 more"."""
    if len(names) > KEYS_NAMED:
        return f"{', '.join(names[:KEYS_NAMED])} and {len(names) - KEYS_NAMED} more"
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"
