"""The texts of check-in and alert emails (pure: no ORM, no Django).

The email is short: the verdict and the target in a sentence each, the PDF attached. What a
report says lives in reports/narrative.py. A production alert says what happened, the
production sentence (tracker.production_rules), the figures behind it, the drift per input,
and links to the project's Production page.
"""

from reports.narrative import counted, quantity
from tracker.phrasing import MAXIMIZE, phrasing_for, split_phrase


def report_subject(*, project: str, verdict_label: str) -> str:
    return f"{project} check-in: {verdict_label}"


def report_email_body(*, project: str, period: str, verdict_label: str,
                      verdict_sentence: str, target_sentence: str | None, pages: int) -> str:
    """The short email that carries the PDF."""
    lines = [f"{verdict_label}. {verdict_sentence}", ""]
    if target_sentence:
        lines += [target_sentence, ""]
    lines.append(f"The full report on {project} for {period} is attached "
                 f"(PDF, {counted(pages, 'page', 'pages')}).")
    lines += ["", "-- ", "Targetline"]
    return "\n".join(lines)


def alert_subject(*, project: str, target_met: bool) -> str:
    return f"{project}: target met" if target_met else f"{project}: new best model"


def new_winner_sentence(*, run: str, experiment: str, previous: str | None) -> str:
    if previous is None:
        return (f'There is a best model for the first time: run "{run}" '
                f'(experiment "{experiment}").')
    return (f'Run "{run}" (experiment "{experiment}") is now the best model, replacing '
            f'run "{previous}".')


def alert_body(*, project: str, target_met: bool, new_winner: str | None,
               winner_sentence: str, target_sentence: str) -> str:
    """An alert email: what happened, the best model in words, the target."""
    lines = []
    if target_met:
        lines.append(f"{project} has met its target for the first time.")
    if new_winner:
        lines.append(new_winner)
    lines += ["", winner_sentence, "", target_sentence, "",
              "-- ", "Targetline (an alert is sent once per event)"]
    return "\n".join(lines)


# --- production alerts -----------------------------------------------------------------------

BELOW_BAR_LEAD = "The model live in production has fallen below the agreed bar."
OVER_LIMIT_LEAD = "The model live in production has gone over the agreed limit."
DRIFT_LEAD = "The inputs the live model sees no longer look like its training data."
BELOW_BAR_AGAIN = ("You will hear of it again only if the live results recover and then fall "
                   "short once more.")
DRIFT_AGAIN = ("You will hear of an input again only once it has been back to stable and "
               "then shifts markedly once more.")
DRIFT_SHOWN = 8  # inputs listed in the drift table; the rest are counted


def below_bar_lead(*, direction: str) -> str:
    return BELOW_BAR_LEAD if direction == MAXIMIZE else OVER_LIMIT_LEAD


def production_alert_subject(*, project: str, below_bar: bool, direction: str,
                             drifted: list[str]) -> str:
    """"News topics: the live model fell below the agreed bar", "News topics: length has
    shifted markedly since training", "News topics: 2 inputs have shifted markedly since
    training"; the first when both happened at once."""
    if below_bar:
        fell = ("fell below the agreed bar" if direction == MAXIMIZE
                else "went over the agreed limit")
        return f"{project}: the live model {fell}"
    if len(drifted) == 1:
        return f"{project}: {drifted[0]} has shifted markedly since training"
    return f"{project}: {len(drifted)} inputs have shifted markedly since training"


def live_figures(*, metric: str, definition: str | None, direction: str, threshold: float,
                 judged_on: str, value: float, when: str, labelled: int, count: int | None,
                 cases: str, test_value: float | None) -> list[str]:
    """The figures behind the sentence, a line each: the live result, the bar, the test."""
    seen = f" (of {count:,})" if count is not None else ""
    bound = "at least" if direction == MAXIMIZE else "at most"
    bar = "bar" if direction == MAXIMIZE else "limit"
    label = phrasing_for(metric, definition).label
    lines = [f"Live {label}, {when}: {quantity(metric, value, definition)}, on {labelled:,} "
             f"checked {cases}{seen}",
             f"The agreed {bar}: {bound} {quantity(metric, threshold, definition)}"]
    if test_value is not None:
        lines.append(f"On {split_phrase(judged_on)}: "
                     f"{quantity(metric, test_value, definition)}")
    return lines


def _psi(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def drift_lines(*, features: list[dict], new: list[str]) -> list[str]:
    """One line per input, most drifted first: "length: 0.4212, significant (new)"; the
    inputs past DRIFT_SHOWN are counted."""
    lines = [f"{f['feature']}: {_psi(f['psi'])}, {f['band']}"
             + (" (new)" if f["feature"] in new else "") for f in features[:DRIFT_SHOWN]]
    rest = len(features) - DRIFT_SHOWN
    if rest > 0:
        lines.append(f"and {counted(rest, 'more input', 'more inputs')}, less drifted")
    return lines


def production_alert_body(*, below_bar: bool, drifted: bool, direction: str, sentence: str,
                          figures: list[str], drift_when: str | None,
                          drift_table: list[str], production_url: str) -> str:
    """A production alert email: what happened, the production sentence, the figures, the
    drift per input, the link to the Production page, and when it is told again."""
    lines = []
    if below_bar:
        lines.append(below_bar_lead(direction=direction))
    if drifted:
        lines.append(DRIFT_LEAD)
    lines += ["", sentence]
    if figures:
        lines += ["", *(f"- {line}" for line in figures)]
    if drift_table:
        lines += ["", f"Drift of the live inputs {drift_when} against the training data "
                  "(population stability index: below 0.1 stable, 0.1 to 0.25 moderate, "
                  "above 0.25 significant):", *(f"- {line}" for line in drift_table)]
    lines += ["", f"The Production page: {production_url}", ""]
    if below_bar:
        lines.append(BELOW_BAR_AGAIN)
    if drifted:
        lines.append(DRIFT_AGAIN)
    lines += ["", "-- ", "Targetline (an alert is sent once per episode)"]
    return "\n".join(lines)
