"""The texts of check-in and alert emails (pure: no ORM, no Django).

The email is short: the verdict and the target in a sentence each, the PDF attached. What a
report says lives in reports/narrative.py.
"""

from reports.narrative import counted


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
