"""Profiles of a model's inputs, computed here so that no data leaves the machine: only
histograms do. Standard library only; numpy (and pandas, when the data is a DataFrame) are
used when present, for speed, and give the same profile.

One JSON shape for a run's reference profile and a live window's (the server's
docs/production.md):

    {"count": 1000,
     "features": {"ink": {"kind": "numeric", "edges": [0.0, 2.5, 4.1, ...],
                          "counts": [100, 100, ...], "missing": 0},
                  "scanner": {"kind": "categorical", "counts": {"A4-old": 600, "other": 12},
                              "missing": 0}}}

- Numeric columns (ints and floats, not bools) get quantile bin edges, `bins` (10) by
  default: the quantiles at 0, 1/bins, ..., 1 of the finite values, interpolated linearly
  between neighbours (numpy's default), rounded to 12 significant digits and deduplicated,
  so the edges are finite and strictly increasing; a heavy value (a column of mostly zeros)
  has fewer bins. A column with no more distinct values than `bins` gets one bin per value
  (edges halfway between them) and a constant column one bin. A bin holds its lower edge,
  the last bin both; values outside the edges (±infinity too) count in the first or last
  bin.
- Other columns (strings, bools, anything else) are categorical: the `top` (20) most
  frequent values keep their own bin, by their text (`str(value)`); the rest are gathered
  under "other".
- None, NaN (and pandas' NA) and empty strings are counted as `missing` and left out of
  the bins, and so of the drift.
- `predictions`, the model's class labels for the same rows, become the categorical
  feature "prediction": the server reports its shares per class apart from the inputs.

A live window (`binned`) uses the reference's edges and categories: a category the
reference does not list goes to "other" when the reference has one (it would have put it
there), and keeps its own name otherwise, as the server's drift comparison reads it
(tracker/drift.py): a new category is drift to see.
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections import Counter

try:  # used when present, never required
    import numpy as _np
except ImportError:  # pragma: no cover - the standard-library path is tested on its own
    _np = None

NUMERIC, CATEGORICAL = "numeric", "categorical"
OTHER = "other"
PREDICTION = "prediction"
DEFAULT_BINS = 10
DEFAULT_TOP = 20
# Significant digits kept of an edge: drops float noise (0.30000000000000004) and keeps the
# resolution of any real column.
EDGE_DIGITS = 12


def profile(data, feature_names=None, predictions=None, bins: int = DEFAULT_BINS,
            top: int = DEFAULT_TOP) -> dict:
    """The reference profile of `data`: a pandas DataFrame, a numpy 2-D array or a list of
    rows with `feature_names`, a list of dicts (one per row) or a dict of columns.
    `feature_names` with a DataFrame, dicts or a dict of columns keeps those columns only.
    ValueError naming the column for anything that cannot be profiled."""
    if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
        raise ValueError(f"bins must be a positive whole number, not {bins!r}")
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise ValueError(f"top must be a positive whole number, not {top!r}")
    count, columns = _columns(data, feature_names, predictions)
    features = {}
    for name, column in columns.items():
        kind, values, missing = _read(name, column, want=CATEGORICAL if name == PREDICTION
                                      else None)
        if kind == NUMERIC:
            edges = _edges(name, values, bins)
            features[name] = {"kind": NUMERIC, "edges": edges,
                              "counts": _bin_counts(values, edges), "missing": missing}
        else:
            features[name] = {"kind": CATEGORICAL, "counts": _top(Counter(values), top),
                              "missing": missing}
    return {"count": count, "features": features}


def binned(data, reference: dict, feature_names=None, predictions=None) -> tuple[dict, list]:
    """A live window's profile of `data` in the bins of `reference` (a profile), and the
    reference's features the window has no column for (left out of the profile).
    Columns the reference does not have are left out too: there is nothing to compare
    them with."""
    count, columns = _columns(data, feature_names, predictions)
    features, absent = {}, []
    for name, theirs in reference.get("features", {}).items():
        if name not in columns:
            if name != PREDICTION:  # no predictions given: nothing to say
                absent.append(name)
            continue
        kind, values, missing = _read(name, columns[name], want=theirs["kind"])
        if kind == NUMERIC:
            edges = [float(edge) for edge in theirs["edges"]]
            features[name] = {"kind": NUMERIC, "edges": edges,
                              "counts": _bin_counts(values, edges), "missing": missing}
        else:
            features[name] = {"kind": CATEGORICAL, "missing": missing,
                              "counts": _in_categories(values, theirs["counts"])}
    return {"count": count, "features": features}, absent


# --- the columns of any input ----------------------------------------------------------------


def _columns(data, feature_names, predictions) -> tuple[int, dict]:
    """(rows, {name: column}) of the data, with the predictions as "prediction"."""
    names = None if feature_names is None else [str(n) for n in feature_names]
    if hasattr(data, "columns") and hasattr(data, "iloc"):  # a pandas DataFrame
        chosen = names if names is not None else [str(c) for c in data.columns]
        by_text = {str(c): c for c in data.columns}
        _check_known(chosen, by_text)
        rows, columns = len(data), {name: data[by_text[name]] for name in chosen}
    elif isinstance(data, dict):
        chosen = names if names is not None else [str(k) for k in data]
        by_text = {str(k): k for k in data}
        _check_known(chosen, by_text)
        columns = {name: data[by_text[name]] for name in chosen}
        lengths = {name: len(column) for name, column in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"the columns differ in length: {lengths}")
        rows = next(iter(lengths.values()), 0)
    elif getattr(data, "ndim", None) is not None:  # a numpy array
        if data.ndim != 2:
            raise ValueError(f"a numpy array of inputs must be 2-D (rows, features), not "
                             f"{data.ndim}-D")
        rows, columns = data.shape[0], _named(names, [data[:, j] for j in range(data.shape[1])])
    else:
        rows_ = list(data)
        if rows_ and isinstance(rows_[0], dict):
            chosen = names if names is not None else list(dict.fromkeys(
                str(key) for row in rows_ for key in row))
            columns = {name: [row.get(name) for row in rows_] for name in chosen}
        else:
            width = len(rows_[0]) if rows_ else len(names or ())
            if any(len(row) != width for row in rows_):
                raise ValueError(f"every row must have {width} values, as the first")
            columns = _named(names, [[row[j] for row in rows_] for j in range(width)])
        rows = len(rows_)
    if predictions is not None:
        predictions = list(predictions) if not hasattr(predictions, "__len__") else predictions
        if len(predictions) != rows:
            raise ValueError(f"{len(predictions)} predictions for {rows} rows: give one per "
                             "row")
        if PREDICTION in columns:
            raise ValueError(f"the data has a column named {PREDICTION!r}, which would hold "
                             "the predictions: rename it")
        columns[PREDICTION] = predictions
    return rows, columns


def _check_known(chosen: list, by_text: dict) -> None:
    unknown = [name for name in chosen if name not in by_text]
    if unknown:
        raise ValueError(f"no column {unknown[0]!r} in the data (it has "
                         f"{', '.join(list(by_text)[:10])})")


def _named(names, columns: list) -> dict:
    if names is None:
        raise ValueError("an array or list of rows has no column names: pass "
                         "feature_names=[...], one per column")
    if len(names) != len(columns):
        raise ValueError(f"{len(names)} feature_names for {len(columns)} columns")
    if len(set(names)) != len(names):
        raise ValueError("feature_names must be distinct")
    return dict(zip(names, columns))


# --- one column's values ---------------------------------------------------------------------


def _is_missing(value) -> bool:
    if value is None or (isinstance(value, str) and value == ""):
        return True
    if isinstance(value, float):
        return value != value
    return type(value).__name__ in ("NAType", "NaTType") or (
        isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral)
        and value != value)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _read(name: str, column, want: str | None) -> tuple[str, object, int]:
    """(kind, values without the missing ones, how many were missing). The kind is `want`
    when given (a live window follows its reference); otherwise numeric when every value
    present is a number."""
    fast = _numpy_numbers(column)
    if fast is not None and want != CATEGORICAL:
        finite_or_inf = fast[~_np.isnan(fast)]
        return NUMERIC, finite_or_inf, int(len(fast) - len(finite_or_inf))
    values = column.tolist() if hasattr(column, "tolist") else list(column)
    present = [v for v in values if not _is_missing(v)]
    missing = len(values) - len(present)
    numeric = all(_is_number(v) for v in present)
    if want == NUMERIC and not numeric:
        odd = next(v for v in present if not _is_number(v))
        raise ValueError(f"column {name!r} is numeric in the reference profile, but holds "
                         f"{odd!r}")
    if want is None and not present:
        raise ValueError(f"column {name!r} has no values to profile (all {missing} missing)")
    if numeric and want != CATEGORICAL:
        return NUMERIC, [float(v) for v in present], missing
    return CATEGORICAL, [str(v) for v in present], missing


def _numpy_numbers(column):
    """The column as a float array when numpy is here and its type says numbers (not
    bools); None otherwise, for the standard-library path."""
    if _np is None:
        return None
    dtype = getattr(column, "dtype", None)
    kind = getattr(dtype, "kind", None)
    if kind not in ("i", "u", "f"):
        return None
    if hasattr(column, "to_numpy"):  # pandas, its nullable integers too (NA -> NaN)
        return column.to_numpy(dtype=float, na_value=float("nan"))
    return _np.asarray(column, dtype=float)


# --- numeric: edges and counts ---------------------------------------------------------------


def _tidy(value: float) -> float:
    return float(f"{value:.{EDGE_DIGITS}g}")


def _sorted_finite(values) -> list:
    if _np is not None and isinstance(values, _np.ndarray):
        return _np.sort(values[_np.isfinite(values)])
    return sorted(v for v in values if math.isfinite(v))


def _distinct(ordered, limit: int) -> list | None:
    """The distinct values of a sorted sequence, or None when there are more than `limit`."""
    if _np is not None and isinstance(ordered, _np.ndarray):
        unique = _np.unique(ordered)
        return [float(v) for v in unique] if len(unique) <= limit else None
    found: list = []
    for value in ordered:
        if not found or value != found[-1]:
            found.append(value)
            if len(found) > limit:
                return None
    return found


def _edges(name: str, values, bins: int) -> list:
    """Strictly increasing, finite bin edges of the values (see the module's docstring)."""
    ordered = _sorted_finite(values)
    n = len(ordered)
    if n == 0:
        raise ValueError(f"column {name!r} has no finite value to draw bin edges from")
    distinct = _distinct(ordered, bins)
    if distinct is not None:
        raw = [distinct[0], *[(a + b) / 2 for a, b in zip(distinct, distinct[1:])],
               distinct[-1]]
    else:
        raw = []
        for i in range(bins + 1):
            position = (n - 1) * i / bins
            low = int(position)
            fraction = position - low
            value = float(ordered[low])
            if fraction and low + 1 < n:
                value += (float(ordered[low + 1]) - value) * fraction
            raw.append(value)
    edges: list = []
    for value in (_tidy(v) for v in raw):
        if not edges or value > edges[-1]:
            edges.append(value)
    if len(edges) == 1:  # a constant column: one bin holding it
        above = edges[0] + 1.0
        edges.append(above if above > edges[0] else math.nextafter(edges[0], math.inf))
    return edges


def _bin_counts(values, edges: list) -> list:
    """How many values fall in each bin [edge, next edge), the last bin closed; values
    beyond the edges in the first or last bin."""
    last = len(edges) - 2
    if _np is not None and isinstance(values, _np.ndarray):
        index = _np.clip(_np.searchsorted(edges, values, side="right") - 1, 0, last)
        return [int(c) for c in _np.bincount(index, minlength=last + 1)]
    counts = [0] * (last + 1)
    for value in values:
        counts[min(max(bisect.bisect_right(edges, value) - 1, 0), last)] += 1
    return counts


# --- categorical -----------------------------------------------------------------------------


def _top(counted: Counter, top: int) -> dict:
    """The `top` most frequent categories (ties by name), the rest under "other"."""
    ranked = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    counts = dict(ranked[:top])
    rest = sum(n for _, n in ranked[top:])
    if rest:
        counts[OTHER] = counts.get(OTHER, 0) + rest
    return counts


def _in_categories(values: list, reference: dict) -> dict:
    """The values counted in the reference's categories (each listed, zero when absent): an
    unseen one under "other" when the reference has it, else under its own name (the most
    frequent DEFAULT_TOP of them; any more under "other")."""
    counts = dict.fromkeys(reference, 0)
    unseen: Counter = Counter()
    for value, n in Counter(values).items():
        if value in counts:
            counts[value] += n
        elif OTHER in reference:
            counts[OTHER] += n
        else:
            unseen[value] = n
    counts.update(_top(unseen, DEFAULT_TOP) if unseen else {})
    return counts
