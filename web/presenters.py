"""Numbers, names and sentences as the pages show them. Pure: no queries here."""

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from reports import narrative
from tracker import mlflow_mapping, numbers, phrasing
from tracker.query.parser import parse_field
from tracker.query.syntax import ATTRIBUTES, FilterError

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_KEYWORDS = {"and", "or", "not", "like", "ilike", "true", "false", "null"}


CELL_CHARACTERS = 80  # a param or tag value longer than this is cut in a table cell


def cell(value) -> dict:
    """A param or tag value as a table cell: its text, and when that is too long for a
    column, the start of it with the whole value as the cell's title."""
    text = number(value)
    if len(text) <= CELL_CHARACTERS:
        return {"text": text}
    return {"text": text[:CELL_CHARACTERS - 1] + "…", "title": text}


def number(value) -> str:
    """A metric or param value for a table cell: four significant digits, NaN and ±inf named."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if value.is_integer() and abs(value) < 1e15:
            return number(int(value))
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def duration(delta: timedelta | None) -> str:
    """"1 h 02 min", "3 min 05 s", "12 s"; an em dash while a run has not ended."""
    if delta is None:
        return "—"
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def has_curve(points: int) -> bool:
    """Whether a series is drawn: a metric logged once (an evaluation's accuracy) is a value
    for the tables, and a chart of one dot at one step says nothing more."""
    return points >= 2


def run_status(run, now=None) -> dict:
    """A run's status as a badge shows it: {"text", "css", "title"}; a running run that has
    sent nothing for over an hour (Run.silent_for) is "silent", since its script has most
    likely died without ending it."""
    quiet = run.silent_for(now)
    if quiet is None:
        return {"text": run.status, "css": run.status, "title": ""}
    return {"text": "silent", "css": "silent",
            "title": f"Running, but nothing received for {duration(quiet)}: its script may have "
                     "died without ending the run, or be in a very long step."}


# --- the filter language's field names ------------------------------------------------------


def _segment(name: str) -> str:
    if _BARE.match(name) and name.lower() not in _KEYWORDS:
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def field_text(kind: str, name: str, split: str | None = None) -> str:
    """How the filter language writes a field: `validation.f1`, params.`optimizer.lr`, name."""
    if kind == "metric":
        return f"{split}.{_segment(name)}"
    if kind == "param":
        return f"params.{_segment(name)}"
    if kind == "tag":
        return f"tags.{_segment(name)}"
    return name


@dataclass(frozen=True)
class Column:
    """A column of the runs table; `field` is its name in the filter language (and order_by)."""

    field: str
    kind: str  # "attribute" | "param" | "tag" | "metric"
    name: str
    split: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "metric":
            return f"{self.split} · {self.name}"
        if self.kind == "attribute":
            return ATTRIBUTE_LABELS.get(self.name, self.name)
        return self.name

    @property
    def group(self) -> str:
        return {"attribute": "run", "param": "param", "tag": "tag"}.get(self.kind, self.split)


ATTRIBUTE_LABELS = {
    "name": "run", "experiment": "experiment", "status": "status", "started_at": "started",
    "ended_at": "ended", "duration": "duration", "created_by": "by", "host": "host",
    "git_commit": "commit", "data_version": "data", "baseline": "baseline", "id": "id",
}
# Attributes a person may add as columns (name is always shown first).
CHOOSABLE_ATTRIBUTES = ("experiment", "status", "started_at", "ended_at", "duration",
                        "created_by", "host", "git_commit", "data_version")


def column(kind: str, name: str, split: str | None = None) -> Column:
    return Column(field_text(kind, name, split), kind, name, split)


def parse_column(text: str) -> Column | None:
    """A column from its field text, or None when the text is not a field."""
    try:
        parsed = parse_field(text)
    except FilterError:
        return None
    if parsed.kind == "attribute" and parsed.name not in ATTRIBUTES:
        return None
    return column(parsed.kind, parsed.name, parsed.split)


# --- the target in words ---------------------------------------------------------------------


def target_headline(target) -> str:
    """"At least 85 out of 100 on F1, judged on the test set": the target as a bar to clear,
    in the reports' figures and scale."""
    return narrative.target_headline(narrative.TargetFacts.from_target(target))


def target_meaning(target) -> str:
    """What a model at the bar does, in plain words: the metric's phrasing at the threshold
    ("Scores 85 out of 100 on F1, a balance of …, on the test set."), shown as "at the bar"."""
    how = phrasing.phrasing_for(target.metric, target.definition or None)
    # A project's own definition may place the threshold itself; a built-in one would only
    # repeat it ("; the agreed bar is 85").
    names_threshold = "{threshold" in how.template(target.threshold)
    return phrasing.clause(how, target.metric, target.threshold, split=target.judged_on,
                           threshold=target.threshold if names_threshold else None,
                           direction=target.direction) + "."


def in_scale(target, value: float | None) -> str:
    """A value of the target's metric in the scale its sentences use: "97.6 out of 100" for a
    fraction, "38 ms" for latency; "—" when unknown, NaN and ±inf named."""
    if value is None:
        return "—"
    if not math.isfinite(value):
        return number(value)
    return narrative.quantity(target.metric, value, target.definition or None)


def guardrail_phrases(guardrails) -> str:
    """The guardrails in words, in their metrics' scales, as the target card lists them."""
    return describe_guardrails([{"metric": g.metric, "split": g.split, "op": g.op,
                                 "value": g.value} for g in guardrails])


def target_result(standing) -> str:
    """The best model's judged value, for the target card's result line, in the target's
    scale: "97.6 out of 100 on the test set, by the best model so far" (the page names the
    run and ends the sentence)."""
    target = standing.target
    where = phrasing.split_phrase(target.judged_on)
    if standing.winner is None:
        return "no best model yet"
    value = standing.judged_value
    if value is None:
        return f"the best model so far has not been evaluated on {where} yet"
    if not math.isfinite(value):
        return (f"the best model so far logged {number(value)} as its "
                f"{phrasing.metric_label(target.metric)} on {where}")
    return f"{in_scale(target, value)} on {where}, by the best model so far"


def describe_target_dict(data: dict | None) -> str:
    """A recorded target (TargetChange.old/new) in one line, in the scale the target card
    uses: "F1 score of at least 85 out of 100 on the test set, picked on validation"."""
    if not data:
        return "no target"
    text = (f"{narrative.target_phrase(narrative.TargetFacts.from_dict(data))}, "
            f"picked on {data.get('selected_on') or 'validation'}")
    if data.get("agreed_by"):
        text += f", agreed by {data['agreed_by']}"
    if data.get("agreed_on"):
        text += f" on {data['agreed_on']}"
    return text


def describe_guardrails(items: list | None) -> str:
    """Recorded guardrails in one line: "latency at most 50 ms on the test set"."""
    if not items:
        return "no guardrails"
    return "; ".join(narrative.guardrail_phrase(g) for g in items)


def describe_change(change) -> tuple[str, str]:
    """(before, after) of a TargetChange in words."""
    if change.what == "guardrails":
        return describe_guardrails(change.old), describe_guardrails(change.new)
    return describe_target_dict(change.old), describe_target_dict(change.new)


HISTORY_SHOWN = 100  # the latest target and guardrail changes a page lists


def change_history(changes) -> list[dict]:
    """Target and guardrail changes as the history lists show them: the change, who made
    it, and the before and after in words."""
    history = []
    for change in changes:
        before, after = describe_change(change)
        history.append({"change": change, "before": before, "after": after,
                        "who": change.changed_by.username if change.changed_by else "someone"})
    return history


def progress(value: float | None, threshold: float, direction: str) -> int | None:
    """How close a value is to the bar, 0-100 (100 = at or past it); None when unknown."""
    if value is None or not math.isfinite(value):
        return None
    if direction == "maximize":
        if value >= threshold:
            return 100
        if threshold <= 0:
            return 0
        share = value / threshold
    else:
        if value <= threshold:
            return 100
        if value <= 0 or threshold < 0:
            return 0
        share = threshold / value
    return max(0, min(99, int(share * 100)))


def filter_string(value: str) -> str:
    """A string literal of the filter language: "tf-idf \\"v2\\""."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def experiment_filter(name: str) -> str:
    return f"experiment = {filter_string(name)}"


def children_filter(run_id) -> str:
    """The runs whose MLflow parent tag names this run (a sweep's trials, autolog's fits)."""
    return f"tags.`{mlflow_mapping.PARENT_RUN_TAG}` = {filter_string(run_id.hex)}"


def chart_label(key: str) -> str:
    """The metric's reader name next to its key on a chart, when it adds something:
    "F1 score" for f1; nothing for unknown keys, or for names that speak of a split
    (the chart names its split)."""
    label = phrasing.metric_label(key)
    if label.lower().replace(" ", "_") == key.lower() or any(
            word in label.lower() for word in ("training", "validation", "test")):
        return ""
    return label


_MODEL_STATUS = {"LOGGED_MODEL_READY": "ready", "LOGGED_MODEL_PENDING": "uploading",
                 "LOGGED_MODEL_UPLOAD_FAILED": "upload failed"}


def logged_models(models, artifacts) -> list[dict]:
    """The run's MLflow logged models (tracker.models.LoggedModel) for the run page, oldest
    first: name, kind, status, when, and the artifact files under the model's folder."""
    shown = []
    for model in sorted(models, key=lambda m: (m.created_ms, m.pk)):
        folder = model.path or model.name
        files = [a for a in artifacts if a.path.startswith(f"{folder}/")]
        shown.append({
            "id": model.model_id, "name": model.name, "folder": folder,
            "kind": model.model_type,
            "status": _MODEL_STATUS.get(model.status, model.status),
            "created": datetime.fromtimestamp(model.created_ms / 1000, tz=UTC),
            "files": len(files), "size": sum(a.size for a in files),
            "main_file": next((a for a in files if a.path == f"{folder}/MLmodel"),
                              files[0] if files else None),
        })
    return shown


def _version_labels(version) -> dict:
    """A registry version's stage (blank for MLflow's "None") and the aliases naming it."""
    model = version.registered_model
    return {"stage": "" if version.stage == "None" else version.stage,
            "aliases": sorted(a for a, n in model.aliases.items() if n == version.version)}


def registered_versions(versions) -> list[dict]:
    """The registry versions made from a run, for the run page: "churn v2", its stage
    and aliases, and the logged model it came from."""
    return [{"name": v.registered_model.name, "version": v.version, **_version_labels(v),
             "logged_model_id": v.logged_model_id}
            for v in sorted(versions, key=lambda v: (v.registered_model.name, v.version))]


def model_versions(model, *, selection_values: dict, winner_id) -> list[dict]:
    """A registered model's versions for the Models page, newest first: stage, aliases, the
    run it came from, that run's value on the target metric where it is chosen, and whether
    that run is the project's best model."""
    return [{"version": v.version, **_version_labels(v), "run": v.run,
             "value": selection_values.get(v.run_id) if v.run_id else None,
             "is_winner": v.run_id is not None and v.run_id == winner_id,
             "description": v.description, "created_at": v.created_at,
             "created_by": v.created_by.get_username() if v.created_by else ""}
            for v in model.versions.all()]


# Where each of MLflow's dataset sources says the data is, in its JSON (mlflow.data.*).
_SOURCE_FIELDS = ("uri", "url", "path", "table_name", "delta_table_name", "sql")


def dataset_source(source: str) -> str:
    """Where a dataset came from, in a few words: the file, address or table an MLflow
    dataset source names, or the script of a dataset built in code; the source as stored
    when it is not one of those."""
    try:
        fields = json.loads(source)
    except ValueError:
        return source
    if not isinstance(fields, dict):
        return source
    script = (fields.get("tags") or {}).get(mlflow_mapping.SOURCE_NAME_TAG)
    if isinstance(script, str) and script:
        return script
    for name in _SOURCE_FIELDS:
        if isinstance(fields.get(name), str) and fields[name]:
            return fields[name]
    return source


def datasets(rows) -> list[dict]:
    """The run's datasets (MLflow's run inputs) for the run page, with what each was used for
    (the client's "mlflow.data.context" tag: train, eval, …) and where it came from."""
    return [{"name": d.name, "used_for": (d.tags or {}).get(mlflow_mapping.DATASET_CONTEXT_TAG, ""),
             "digest": d.digest, "source_type": d.source_type, "source": d.source,
             "origin": dataset_source(d.source)}
            for d in rows]


def webhook_address(url: str) -> str:
    """A webhook's URL as the pages show it: scheme, host and port, the path hidden (the
    path of a Slack or Teams webhook is its password)."""
    try:
        parts = urlsplit(url)
        shown = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
    except ValueError:
        return "(an address that cannot be read)"
    return f"{shown}/…" if parts.path.strip("/") or parts.query else shown


# --- business results ------------------------------------------------------------------------

IMPACT_ROOM = 1.15  # the interval bar's scale reaches this far past the interval's wider end


def _signed(value: float, *, rate: bool) -> str:
    text = numbers.format_fixed(abs(value) * 100) if rate else numbers.format_number(abs(value))
    shown_as_zero = not text.strip("0.")
    return text if shown_as_zero else ("+" if value > 0 else "−") + text


def impact_bar(reading) -> dict:
    """A business result's difference and 95 % interval as a small forest-plot bar, in the
    reader's terms: better to the right of zero, whatever the metric's direction (a fall in
    handling time is drawn to the right). Positions are percentages of the bar's width,
    zero in the middle; the figures are the difference and the interval's ends, signed
    (+ better) in points for rates, in the result's unit for means ("+3.4 to +6.5 points":
    the unit said once)."""
    result = reading.result
    sign = 1 if result.direction == phrasing.MAXIMIZE else -1
    found = reading.difference
    low, high = sorted((sign * found.low, sign * found.high))
    estimate = sign * found.estimate
    reach = max(abs(low), abs(high)) * IMPACT_ROOM or 1.0

    def at(value: float) -> float:
        return round(50 + 50 * value / reach, 2)

    rate = reading.is_rate
    unit = " points" if rate else (f" {result.unit}" if result.unit else "")
    return {"low": at(low), "width": round(at(high) - at(low), 2), "estimate": at(estimate),
            "estimate_text": _signed(estimate, rate=rate) + unit,
            "low_text": _signed(low, rate=rate),
            "high_text": _signed(high, rate=rate) + unit}


def class_share_rows(predictions) -> list[dict]:
    """The share of predictions per class in training and live (tracker.drift.Predictions),
    as percentages with one decimal, the classes most predicted in training first, then
    those only predicted live; "—" where a side never predicted the class."""
    names = list(predictions.reference) + [n for n in predictions.live
                                           if n not in predictions.reference]

    def share(shares: dict, name: str) -> str:
        return f"{numbers.format_fixed(shares[name] * 100)} %" if name in shares else "—"

    return [{"name": name, "reference": share(predictions.reference, name),
             "live": share(predictions.live, name)} for name in names]
