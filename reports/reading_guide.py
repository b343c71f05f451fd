"""How to read a report: the glossary, why two splits, and each chart's caption (pure)."""

from reports.narrative import TargetFacts
from tracker.phrasing import metric_label, split_phrase


def selection_gloss(target: TargetFacts) -> str:
    """Why two splits, glossing both: the one a model is picked on and the one it is judged on."""
    return (f"The best model is picked on {split_phrase(target.selected_on)} (cases used to "
            f"compare models) and judged on {split_phrase(target.judged_on)} (cases kept "
            "aside, never used to pick or tune it), so the figure quoted is an honest estimate "
            "of how it will do.")


_GLOSSES = {
    "accuracy": "Accuracy: how often the model is right.",
    "error rate": "Error rate: how often the model is wrong.",
    "precision": "Precision: when the model flags a case, how often it is right.",
    "recall": "Recall: of the cases the model should find, how many it finds.",
    "F1 score": "F1 score: one number that balances finding the cases that matter and being "
                "right when flagging one (100 is perfect).",
    "macro-averaged F1 score": "Macro-averaged F1 score: the F1 score (finding the cases "
                               "that matter and being right when flagging one) averaged over "
                               "classes, each counting equally (100 is perfect).",
    "micro-averaged F1 score": "Micro-averaged F1 score: the F1 score (finding the cases "
                               "that matter and being right when flagging one) over all "
                               "cases together (100 is perfect).",
    "weighted F1 score": "Weighted F1 score: the F1 score (finding the cases that matter and "
                         "being right when flagging one) averaged over classes, bigger "
                         "classes counting more (100 is perfect).",
    "ROC AUC": "ROC AUC: how well the model ranks real cases above non-cases (50 is "
               "guessing, 100 is perfect).",
    "mean absolute error": "Mean absolute error: how far off the model is on average "
                           "(lower is better).",
    "root mean squared error": "Root mean squared error: how far off the model is in a "
                               "typical case, big misses counting more (lower is better).",
    "mean squared error": "Mean squared error: the average squared miss, big misses "
                          "counting much more (lower is better).",
    "latency": "Latency: how long the model takes to answer one request.",
    "R²": "R²: how much of the variation in the outcome the model explains (100 is all).",
}


def metric_gloss(metric: str, definition: str | None = None) -> str | None:
    """One line on what the metric means, for the jargon a reader may not know."""
    if definition:
        return None  # the project's own sentence already says it in its words
    return _GLOSSES.get(metric_label(metric))


def glossary(target: TargetFacts) -> list[str]:
    """The words a report uses that a manager may not know."""
    entries = [
        f"{split_phrase(target.selected_on).removeprefix('the ').capitalize()}: data used "
        "to compare models and pick the best one.",
        f"{split_phrase(target.judged_on).removeprefix('the ').capitalize()}: data kept "
        "aside to judge the chosen model fairly; it is never used to choose.",
        "Baseline: the status quo to beat, such as the current system or a simple rule.",
        "Guardrail: a condition any model must also meet, such as answering fast enough.",
        "Run: one attempt at training a model. Experiment: a line of work with its own idea "
        "(hypothesis), made of runs.",
        "Slice: a part of the test set with one kind of case, such as long texts.",
    ]
    gloss = metric_gloss(target.metric, target.definition)
    return ([gloss] if gloss else []) + entries


def experiments_note(target: TargetFacts) -> str:
    """Why experiments are quoted on validation and only the best model on test."""
    return (f"Experiments are compared on {split_phrase(target.selected_on)}; only the best "
            f"model is quoted on {split_phrase(target.judged_on)}, so that figure stays an "
            "honest check.")


def chart_texts(facts: TargetFacts, names: list[str]) -> dict:
    """Each chart's title and how to read it, in the report's words."""
    judged, selected = split_phrase(facts.judged_on), split_phrase(facts.selected_on)
    texts = {
        "progress": {
            "title": "Progress towards the target",
            "caption": (f"The dark line is the best model's {facts.label} on {judged}, the "
                        f"figure we quote; the light line is the best result so far on "
                        f"{selected}, where models are compared. The dashed green line is the "
                        "agreed bar (a step where it was moved); dotted lines mark earlier "
                        "check-ins; this period is shaded."),
        },
        "runs": {
            "title": "This period's runs",
            "caption": (f"Every run that finished in this period, on {selected}, one colour "
                        "per experiment. The ringed run is the best model; crosses fail a "
                        "guardrail and cannot be picked; the dashed line is the baseline."),
        },
        "slices": {
            "title": f"Parts of {judged}",
            "caption": ("The best model on each slice against its overall figure; orange "
                        "slices lag noticeably."),
        },
        "experiments": {
            "title": "Best result of each experiment",
            "caption": f"Each experiment at its best run on {selected}.",
        },
        "live": {
            "title": "Live results",
            "caption": (f"The deployed model's {facts.label} on the checked cases of each live "
                        f"window, at the window's end, against its figure on {judged} (dotted) "
                        "and the agreed bar (dashed green). Hollow markers had too few checked "
                        "cases to count."),
        },
    }
    return {name: texts[name] for name in names}
