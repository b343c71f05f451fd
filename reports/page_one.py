"""What only page 1 of a check-in says (pure): who recorded a change, the limits the best
model meets, the idea behind it and what the team tries next.

Page 1 is read in a minute by people who fund the model. So a change names the person who
recorded it ("recorded by Dana Smith"), never a username where a person's name belongs and
never in words that read as a second agreement; experiments appear with the idea they test
rather than by their runs' names; and the limits the best model must meet (its guardrails)
are judged in one line, without the word "guardrail".
"""

from datetime import date

from reports.narrative import MAXIMIZE, TargetFacts, bare, day_text, quantity, target_phrase
from tracker.phrasing import guardrail_words, phrasing_for

# --- who recorded a change -------------------------------------------------------------------


def recorder(*, full_name: str, username: str | None) -> str:
    """Who recorded a change: the person's full name; an account without one is called an
    account, so its username never reads as a person; a deleted account says so."""
    if full_name.strip():
        return full_name.strip()
    if username:
        return f'the account "{username}"'
    return "an account since deleted"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _target_short(data: dict) -> str:
    return target_phrase(TargetFacts.from_dict(data))


def _limit_short(rule: dict) -> str:
    """A guardrail in plain words: "answering in at most 50 ms", "accuracy at least 70 out
    of 100"."""
    how = phrasing_for(rule["metric"])
    op_words = guardrail_words(rule["op"])[1]
    if how.label == "latency":
        return f"answering in {op_words} {how.show(rule['value'])}"
    out_of = " out of 100" if how.percent else ""
    return f"{_plain_label(how.label)} {op_words} {how.show(rule['value'])}{out_of}"


def _plain_label(label: str) -> str:
    return " ".join(label.replace("_", " ").split())


def _agreement(data: dict) -> str:
    facts = TargetFacts.from_dict(data)
    on = f"on {day_text(facts.agreed_on)}" if facts.agreed_on else ""
    if facts.agreed_by:
        return f"{facts.agreed_by}, {on}" if on else facts.agreed_by
    return on or "nobody named"


def _target_event(old, new) -> str:
    if old is None:
        return f"The target was set to {_target_short(new)}"
    if new is None:
        return f"The target ({_target_short(old)}) was removed"
    changed = {k for k in ("metric", "direction", "threshold", "judged_on", "selected_on",
                           "definition") if old.get(k) != new.get(k)}
    if changed == {"threshold"}:
        facts = TargetFacts.from_dict(new)
        higher = new["threshold"] > old["threshold"]
        if facts.direction == MAXIMIZE:
            verb = "raised" if higher else "lowered"
        else:
            verb = "loosened" if higher else "tightened"
        return (f"The {facts.bar} was {verb} from {bare(facts.metric, old['threshold'])} to "
                f"{quantity(facts.metric, new['threshold'], facts.definition)}")
    if not changed:
        return f"Who agreed the target was updated: {_agreement(new)}"
    return f"The target was changed from {_target_short(old)} to {_target_short(new)}"


def _limits_event(old, new) -> str:
    what = "The limits a model must also meet"
    before = _join([_limit_short(g) for g in old or []])
    after = _join([_limit_short(g) for g in new or []])
    if not before:
        return f"{what} were set: {after or 'none'}"
    if not after:
        return f"{what} ({before}) were removed"
    return f"{what} were changed from {before} to {after}"


def target_change_sentence(*, what: str, old, new, who: str, on: date) -> str:
    """One recorded change of the target or the guardrails, and who recorded it.

    "The bar was raised from 80 to 85 out of 100 (recorded by Dana Smith on 2 November
    2026)." Who agreed the target is the target's own line; this says who typed it in.
    """
    event = _limits_event(old, new) if what == "guardrails" else _target_event(old, new)
    return f"{event} (recorded by {who} on {day_text(on)})."


# --- the best model: its limits and its idea -------------------------------------------------


def _limit_line(rule: dict) -> tuple[str, str]:
    """(what it does, the figures): ("answers fast enough", "41 ms, the limit is 50 ms")."""
    how = phrasing_for(rule["metric"])
    limit_words = guardrail_words(rule["op"])[0]
    actual, passed = rule.get("actual"), rule.get("passed", True)
    shown = how.show(actual) if actual is not None else "not measured"
    out_of = " out of 100" if how.percent and actual is not None else ""
    figures = f"{shown}{out_of}, {limit_words} {how.show(rule['value'])}"
    if how.label == "latency":
        return ("answers fast enough" if passed else "does not answer fast enough"), figures
    kind = "minimum" if rule["op"] in (">=", ">") else "limit"
    verb = "meets" if passed else "does not meet"
    return f"{verb} the agreed {kind} on {_plain_label(how.label)}", figures


def limits_line(*, guardrails: list[dict], count: int, has_winner: bool) -> str:
    """The guardrails' verdict on the best model, in one line.

    `guardrails` are the best model's (metric, op, value, actual, passed), as
    tracker.selectors.winner.standing lists them; `count` is how many are agreed.
    "It also answers fast enough: 41 ms, the limit is 50 ms."
    """
    if count == 0:
        return "No other limit, such as how fast it must answer, was agreed."
    if not has_winner or not guardrails:
        return "There is no best model yet, so the other agreed limits were not checked."
    lines = [_limit_line(rule) for rule in guardrails]
    if len(lines) == 1:
        does, figures = lines[0]
        return f"It also {does}: {figures}."
    every = "It also meets every other agreed limit" if all(
        rule.get("passed", True) for rule in guardrails) else "Of the other agreed limits"
    return f"{every}: " + _join([f"it {does} ({figures})" for does, figures in lines]) + "."


def _lower_first(text: str) -> str:
    # "A small model" -> "a small model", "Training on" -> "training on"; "GPU memory",
    # "F1" and "DistilBERT" keep their capitals.
    first = text.split(" ", 1)[0]
    if first == "A" or (len(first) > 1 and first[0].isupper() and first[1:].islower()):
        return text[0].lower() + text[1:]
    return text


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def origin_sentence(*, experiment: str, hypothesis: str) -> str:
    """Where the best model comes from: its experiment and the idea behind it."""
    if not hypothesis.strip():
        return f'It comes from the experiment "{experiment}".'
    return (f'It comes from the experiment "{experiment}". The idea behind it: '
            f"{_lower_first(_sentence(hypothesis))}")


# --- what next -------------------------------------------------------------------------------


def next_step_sentence(*, idea: str | None, has_target: bool, has_baseline: bool,
                       met: bool, too_early: bool) -> str:
    """The next step in one sentence: the newest experiment's idea, or what would settle
    the question when none is written down."""
    if idea and idea.strip():
        return f"What the team is trying next: {_lower_first(_sentence(idea))}"
    if not has_target:
        return ("What would settle it: agreeing a target (a measure, a direction and a bar), "
                "so the next check-in can say how far the project is.")
    if not has_baseline:
        return ("What would settle it: a baseline, the current way of working measured on the "
                "same test set, to show whether the model beats it.")
    if met:
        return ("No next idea is written down: the next check-ins show whether the result "
                "holds.")
    if too_early:
        return "What would settle it: the next check-ins' results, which show the pace."
    return "No next idea is written down yet: ask the team what they will try next."
