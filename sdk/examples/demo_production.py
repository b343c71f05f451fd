"""The demo's life after training: the winner goes live on the sorting line and is followed
for eight weeks, with its inputs' drift and one A/B test of the business result.

What happens, as the demo tells it: in the last weeks a new scanner ("ScanLine 5") is rolled
out to more and more sorting lines, and it scans the ink fainter. Every number below is
measured, not made up: each week's live F1 is the deployed model scored on held-out test
digits, the new scanner's share of them faded as it fades them; the profiles are those
digits' features; the A/B test compares, on held-out digits, how many the old reader (a
logistic regression) and the new model read right, so that no person had to key them in.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

import targetline as tl

# Where each envelope was sorted: a column of the inputs that stays as it was (no drift).
CENTRES = ("Leeds", "Bristol", "Glasgow", "Norwich")
CENTRE_SHARES = (0.4, 0.3, 0.2, 0.1)
# The new scanner's share of envelopes, week by week, and how much fainter it scans the ink.
ROLLOUT = (0.0, 0.0, 0.0, 0.05, 0.15, 0.3, 0.45, 0.6)
FADE = 0.6
SEEN_PER_WEEK = 2000      # digits read in a week (of the held-out ones, drawn again)
CHECKED_PER_WEEK = 400    # of them, checked by a person: the live F1 is measured on these
AB_DIGITS = 3000          # per group of the A/B test
SEED = 20261102


def centres(n: int, seed: int) -> list:
    """The sorting centre of each of n envelopes."""
    picked = np.random.default_rng(seed).choice(len(CENTRES), size=n, p=CENTRE_SHARES)
    return [CENTRES[i] for i in picked]


def features(x: np.ndarray, sorting_centre: list) -> dict:
    """A few meaningful inputs of each digit, as a dict of columns: `ink`, its mean pixel
    intensity (0 to 16); `stroke_width`, the lit pixels (at least a quarter of the image's
    brightest) per lit row, which fainter ink does not change; and its sorting centre."""
    brightest = np.maximum(x.max(axis=1, keepdims=True), 1)
    lit = x >= brightest / 4
    rows = lit.reshape(len(x), 8, 8).any(axis=2).sum(axis=1)
    return {"ink": x.mean(axis=1), "stroke_width": lit.sum(axis=1) / np.maximum(rows, 1),
            "sorting_centre": sorting_centre}


def log_reference(run: tl.Run, model, x_train: np.ndarray) -> None:
    """The training inputs' profile, with the model's predictions on them: the reference
    its live inputs are compared with, should it be deployed."""
    run.log_profile(features(x_train, centres(len(x_train), SEED)),
                    predictions=model.predict(x_train))


def _weeks(today: date) -> list:
    """Eight weekly windows, Monday to Monday, the last one ending this week."""
    monday = today - timedelta(days=today.weekday())
    ends = [monday - timedelta(weeks=7 - k) for k in range(8)]
    return [(datetime(e.year, e.month, e.day, tzinfo=timezone.utc) - timedelta(weeks=1),
             datetime(e.year, e.month, e.day, tzinfo=timezone.utc)) for e in ends]


def _week_of_digits(rng, x_test, y_test, share: float):
    """A week's digits: held-out ones drawn again, the new scanner's share of them faded."""
    picked = rng.integers(0, len(x_test), SEEN_PER_WEEK)
    x, y = x_test[picked].copy(), y_test[picked]
    new = rng.random(SEEN_PER_WEEK) < share
    x[new] = x[new] * FADE
    return x, y, new


def follow_in_production(api: tl.Api, project: str, winner: str, models: dict,
                         data: dict, today: date | None = None) -> None:
    """Deploy the winner (a run name of `models`: {name: (run id, fitted model)}), then log
    eight weeks of live results and profiles, and an A/B test."""
    if api.deployments(project, environment="production", live=True):
        print("Something is live in production already; not deploying again.")
        return
    winner_id, model = models[winner]
    api.update_project(project, case_noun="digits")
    x_test, y_test = data["test"]
    weeks = _weeks(today or date.today())
    deployment = api.deploy(project, winner_id, started_at=weeks[0][0],
                            note="Agreed at the go-live review with Mail Operations.")
    print(f"\nDeployed {deployment['what']} to production on {weeks[0][0]:%d %B}.")
    rng = np.random.default_rng(SEED)
    labels = sorted(set(y_test))
    for (start, end), share in zip(weeks, ROLLOUT):
        x, y, new = _week_of_digits(rng, x_test, y_test, share)
        predicted = model.predict(x)
        checked = slice(0, CHECKED_PER_WEEK)
        f1 = f1_score(y[checked], predicted[checked], average="macro", labels=labels,
                      zero_division=0)
        metrics = {"f1": f1, "accuracy": accuracy_score(y[checked], predicted[checked])}
        slices = {}
        faded = new[checked]
        if faded.sum() >= 30:
            slices["new_scanner"] = {"f1": f1_score(
                y[checked][faded], predicted[checked][faded], average="macro",
                labels=labels, zero_division=0)}
        api.log_live(project, metrics, window_start=start, window_end=end,
                     count=SEEN_PER_WEEK, labelled=CHECKED_PER_WEEK, slices=slices)
        api.log_live_profile(project, features(x, centres(len(x), int(start.timestamp()))),
                             window_start=start, window_end=end, predictions=predicted)
        print(f"  week of {start:%d %b}: F1 {f1:.3f} on {CHECKED_PER_WEEK} checked digits; "
              f"new scanner on {share:.0%} of the lines")
    record_ab_test(api, project, deployment, models["logreg-c1"][1], model, data, weeks)
    print(api.production(project)["sentence"])


def _read_right(model, x, y, rng) -> int:
    """How many of AB_DIGITS held-out digits drawn at random the model reads right: a digit
    read wrong fails the postcode check and goes to a person."""
    picked = rng.integers(0, len(x), AB_DIGITS)
    return int((model.predict(x[picked]) == y[picked]).sum())


def record_ab_test(api: tl.Api, project: str, deployment: dict, old_reader, model,
                   data: dict, weeks: list) -> None:
    """The first two weeks after go-live, before the new scanner: envelopes split at random
    between the old reader (a logistic regression) and the deployed model."""
    x_test, y_test = data["test"]
    rng = np.random.default_rng(SEED + 1)
    control = _read_right(old_reader, x_test, y_test, rng)
    treatment = _read_right(model, x_test, y_test, rng)
    result = api.record_impact(
        project, kind="ab_test", deployment=deployment["id"],
        metric="digits read without a person", direction="maximize",
        control={"successes": control, "n": AB_DIGITS},
        treatment={"successes": treatment, "n": AB_DIGITS},
        started_at=weeks[0][0], ended_at=weeks[1][1],
        note="Envelopes split at random between the old reader and the model.")
    print(result["sentence"])
