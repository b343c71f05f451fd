"""Addresses from one page to another: the runs table under a filter, a comparison of
runs, and the runs a comparison's address (or a form) names."""

import uuid

from django.urls import reverse
from django.utils.http import urlencode


def runs_url(project, filter_text: str) -> str:
    """The project's runs table showing the runs that match `filter_text`."""
    return reverse("web:runs", args=[project.slug]) + "?" + urlencode({"filter": filter_text})


def compare_url(project, run_ids) -> str:
    """The comparison of these runs, in this order."""
    return (reverse("web:compare", args=[project.slug]) + "?"
            + urlencode([("run", str(run_id)) for run_id in run_ids]))


def run_ids(query) -> list[uuid.UUID]:
    """The runs a query string or a form names, in order, once each: `run=<id>` as often as
    needed, or `runs=<id>,<id>`; what is not a run id is left out."""
    raw = list(query.getlist("run"))
    for chunk in query.getlist("runs"):
        raw += chunk.split(",")
    ids, seen = [], set()
    for item in raw:
        try:
            value = uuid.UUID(item.strip())
        except ValueError:
            continue
        if value not in seen:
            seen.add(value)
            ids.append(value)
    return ids
