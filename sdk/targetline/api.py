"""`targetline.Api`: read and manage projects, runs and winners; plain synchronous calls.

Unlike a run's logging, these calls answer now or raise: `ApiError` when the
server refuses (its message says what to fix), `Unreachable` when it cannot be
reached. Reads are retried a few times first.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.parse
import warnings
from datetime import date, datetime, timezone

from targetline import _profile
from targetline._config import DEFAULT_REQUEST_TIMEOUT, resolve_token, resolve_url
from targetline._delivery import say
from targetline._http import ApiError, Transport, Unreachable, check
from targetline._validation import check_key, check_slug, check_split

_SPECIAL = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def _number(value: object) -> object:
    """The server writes NaN and infinities as strings, to keep its JSON strict."""
    return _SPECIAL.get(value, value) if isinstance(value, str) else value


def _say_warnings(answer: object) -> object:
    """What the server accepted but warns about (a target metric no run has logged yet),
    one line each on stderr."""
    for warning in (answer.get("warnings") or ()) if isinstance(answer, dict) else ():
        say(f"{warning.get('field')}: {warning.get('message')}")
    return answer


def _run(data: dict) -> dict:
    """A run as the server sends it, with its metric summaries' numbers as floats."""
    for summary in data.get("metrics") or ():
        for field in ("at_best_step", "best", "last", "min", "max"):
            if field in summary:
                summary[field] = _number(summary[field])
    return data


class FilterWarning(UserWarning):
    """A search's filter or order names a metric, param or tag that no run of the project
    has (usually a typo); the message names the closest one it has. The search still ran.
    `warnings.simplefilter("error", targetline.FilterWarning)` makes it an exception."""


class Api:
    """The server's REST API for scripts and notebooks.

    `url` and `token` default to TARGETLINE_URL and TARGETLINE_TOKEN.
    """

    def __init__(self, url: str | None = None, token: str | None = None,
                 timeout: float = DEFAULT_REQUEST_TIMEOUT, retries: int = 3):
        self.url = resolve_url(url)
        self._token = resolve_token(token)
        self.timeout = timeout
        self.retries = retries
        self._local = threading.local()

    @property
    def _transport(self) -> Transport:
        transport = getattr(self._local, "transport", None)
        if transport is None:
            transport = self._local.transport = Transport(self.url, self._token, self.timeout)
        return transport

    def _call(self, method: str, path: str, payload: object = None,
              query: dict | None = None) -> object:
        attempts = self.retries if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._transport.call(method, path, payload, query=query)
            except Unreachable:
                if attempt == attempts:
                    raise
                time.sleep(0.5 * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    # --- projects ---------------------------------------------------------------------

    def create_project(self, slug: str, name: str | None = None, *, description: str = "",
                       target: dict | None = None, guardrails: list | None = None,
                       cost_metrics: list | None = None, create: bool = False) -> dict:
        """Create a project (you become its owner), optionally with its target and guardrails.

        target: {"metric", "direction": "maximize"|"minimize", "threshold", and optionally
        "judged_on" (default "test"), "selected_on" (default "validation"), "agreed_by",
        "agreed_on", "definition"}; guardrails: [{"metric", "split", "op", "value"}];
        cost_metrics: the project's own measures of cost, e.g. ["latency_p95_ms"].
        A threshold outside its metric's range (90 for F1) raises ApiError. A slug a
        typo's distance from one of your projects' is refused (ApiError 400 naming it)
        unless `create=True`.
        """
        check_slug(slug)
        body: dict = {"slug": slug, "name": name or slug, "description": description}
        if create:
            body["create"] = True
        if target is not None:
            body["target"] = target
        if guardrails is not None:
            body["guardrails"] = guardrails
        if cost_metrics is not None:
            body["cost_metrics"] = cost_metrics
        return self._call("POST", "/api/v1/projects/", body)  # type: ignore[return-value]

    def projects(self) -> list:
        """The projects you are a member of."""
        return self._call("GET", "/api/v1/projects/")["results"]  # type: ignore[index]

    def project(self, slug: str) -> dict:
        return self._call("GET", f"/api/v1/projects/{_q(slug)}")  # type: ignore[return-value]

    def update_project(self, slug: str, **fields: object) -> dict:
        """Change the project's `name`, `description`, `case_noun` (what its production
        cases are called: "tickets"), `deploy_alias` or `deploy_stage` (owners)."""
        return self._call("PATCH", f"/api/v1/projects/{_q(slug)}", fields)  # type: ignore

    def set_target(self, slug: str, target: dict | None) -> dict | None:
        """Agree or change the project's target (owners; the server records every change).
        None withdraws it. A threshold outside its metric's range (90 for F1, a fraction)
        raises ApiError with the server's sentence; a metric no run has logged yet is taken,
        with a line on stderr."""
        if target is None:
            self._call("DELETE", f"/api/v1/projects/{_q(slug)}/target")
            return None
        answer = _say_warnings(self._call("PUT", f"/api/v1/projects/{_q(slug)}/target", target))
        return answer["target"]  # type: ignore[index]

    def set_guardrails(self, slug: str, guardrails: list,
                       cost_metrics: list | None = None) -> list:
        """Replace the project's guardrails, e.g. [{"metric": "latency_ms", "split": "test",
        "op": "<=", "value": 50}]; `cost_metrics` first replaces the project's own measures of
        cost, which guardrails may check on the test split as they may latency_ms."""
        body: dict = {"guardrails": guardrails}
        if cost_metrics is not None:
            body["cost_metrics"] = cost_metrics
        answer = _say_warnings(self._call("PUT", f"/api/v1/projects/{_q(slug)}/guardrails",
                                          body))
        return answer["guardrails"]  # type: ignore[index]

    def add_member(self, slug: str, username: str, role: str = "member") -> dict:
        """Add a user to the project as owner, member or viewer (or change their role)."""
        return self._call("POST", f"/api/v1/projects/{_q(slug)}/members/",  # type: ignore
                          {"username": username, "role": role})

    def members(self, slug: str) -> list:
        return self._call("GET", f"/api/v1/projects/{_q(slug)}/members/")["results"]  # type: ignore

    def create_experiment(self, slug: str, name: str, hypothesis: str = "") -> dict:
        """Create an experiment with its hypothesis (runs create experiments on first use,
        without one)."""
        return self._call("POST", f"/api/v1/projects/{_q(slug)}/experiments/",  # type: ignore
                          {"name": name, "hypothesis": hypothesis})

    def experiments(self, slug: str) -> list:
        return self._call("GET", f"/api/v1/projects/{_q(slug)}/experiments/")["results"]  # type: ignore

    # --- runs ----------------------------------------------------------------------------

    def runs(self, project: str, filter: str | None = None, order_by: str | None = None,
             limit: int | None = None) -> list:
        """The project's runs matching `filter` (e.g. 'validation.f1 > 0.8 and
        params.model = "svm"'), sorted by `order_by` (e.g. '-validation.f1'), every page.

        A metric, param or tag that no run of the project has (a typo, most often) is
        reported as a `FilterWarning` naming the closest one it has."""
        found: list = []
        cursor = None
        while True:
            query = {"filter": filter, "order_by": order_by, "cursor": cursor,
                     "page_size": min(limit - len(found), 1000) if limit else 1000}
            page = self._call("GET", f"/api/v1/projects/{_q(project)}/runs/", query=query)
            if cursor is None:  # every page carries the same warnings
                for warning in page.get("warnings") or ():  # type: ignore[union-attr]
                    warnings.warn(warning["message"], FilterWarning, stacklevel=2)
            found.extend(_run(run) for run in page["results"])  # type: ignore[index]
            cursor = page.get("next_cursor")  # type: ignore[union-attr]
            if not cursor or (limit and len(found) >= limit):
                return found[:limit] if limit else found

    def run(self, run_id: str) -> dict:
        """One run with its params, tags, context and metric summaries."""
        return _run(self._call("GET", f"/api/v1/runs/{_q(run_id)}"))  # type: ignore[arg-type]

    def update_run(self, run_id: str, **fields: object) -> dict:
        """Change a run's name, status, notes, tags or baseline flag."""
        return self._call("PATCH", f"/api/v1/runs/{_q(run_id)}", fields)  # type: ignore

    def history(self, run_id: str, key: str, split: str = "train",
                buckets: int | None = None) -> list:
        """Every point of one metric of one split ([{"step", "value", "timestamp"}]), or
        with `buckets`, the series downsampled to that many step ranges keeping each one's
        min, max and last ([{"step_min", "step_max", "min", "max", "last"}])."""
        check_key(key)
        check_split(split)
        answer = self._call("GET", f"/api/v1/runs/{_q(run_id)}/history",
                            query={"key": key, "split": split, "buckets": buckets})
        if buckets:
            rows = answer["buckets"]  # type: ignore[index]
            for row in rows:
                for field in ("min", "max", "last"):
                    row[field] = _number(row.get(field))
            return rows
        points = answer["points"]  # type: ignore[index]
        for point in points:
            point["value"] = _number(point["value"])
        return points

    def artifacts(self, run_id: str) -> list:
        return self._call("GET", f"/api/v1/runs/{_q(run_id)}/artifacts/")["results"]  # type: ignore

    def download_artifact(self, run_id: str, path: str, dest: str | os.PathLike) -> str:
        """Save a run's artifact to `dest` (a file, or a folder to keep its name in)."""
        response = check(self._transport.request(
            "GET", f"/api/v1/runs/{_q(run_id)}/artifacts/{urllib.parse.quote(path, safe='/')}"))
        target = os.fspath(dest)
        if os.path.isdir(target):
            target = os.path.join(target, path.rsplit("/", 1)[-1])
        with open(target, "wb") as f:
            f.write(response.body)
        return target

    # --- where the project stands ----------------------------------------------------------

    def leaderboard(self, project: str, limit: int = 20) -> list:
        """Finished runs ranked on the selection split, with guardrail failures."""
        answer = self._call("GET", f"/api/v1/projects/{_q(project)}/leaderboard",
                            query={"limit": limit})
        return answer["results"]  # type: ignore[index]

    def winner(self, project: str) -> dict:
        """The winner (best on validation, passing every guardrail) quoted on test against the
        threshold, the baseline, the lift, and a sentence a stakeholder can read."""
        return self._call("GET", f"/api/v1/projects/{_q(project)}/winner")  # type: ignore

    # --- deployments and live results ----------------------------------------------------

    def deploy(self, project: str, run_id: str, environment: str = "production",
               started_at: datetime | str | None = None, note: str | None = None) -> dict:
        """Record that the project's run is live in `environment` (production, shadow,
        canary or a short name of yours) since `started_at` (default now). The deployment
        live there before ends at this one's start."""
        body: dict = {"run": str(run_id), "environment": environment}
        if started_at is not None:
            body["started_at"] = _when(started_at)
        if note is not None:
            body["note"] = note
        return self._call("POST", f"/api/v1/projects/{_q(project)}/deployments/",  # type: ignore
                          body)

    def deployments(self, project: str, environment: str | None = None,
                    live: bool | None = None) -> list:
        """The project's deployments, the latest start first; only those of `environment`,
        only the live ones (live=True) or only the ended ones (live=False)."""
        query = {"environment": environment,
                 "live": None if live is None else ("true" if live else "false")}
        return self._call("GET", f"/api/v1/projects/{_q(project)}/deployments/",  # type: ignore
                          query=query)["results"]

    def end_deployment(self, deployment_id: int, ended_at: datetime | str | None = None) -> dict:
        """End a live deployment at `ended_at` (default now)."""
        body = {} if ended_at is None else {"ended_at": _when(ended_at)}
        return self._call("POST", f"/api/v1/deployments/{_q(deployment_id)}/end",  # type: ignore
                          body)

    def log_live(self, project: str, metrics: dict, *, window_start: datetime | str,
                 window_end: datetime | str, count: int, labelled: int,
                 slices: dict | None = None) -> dict:
        """Record the live results of the project's current production deployment over one
        window: `metrics` measured on the `labelled` cases among the `count` it saw (and per
        slice, e.g. {"long_texts": {"f1": 0.71}}). Posting the same window again replaces
        it. ApiError 404 (field "deployment") when nothing is live in production."""
        deployment = self._live_deployment(project, "production")
        body: dict = {"window_start": _when(window_start), "window_end": _when(window_end),
                      "metrics": metrics, "count": count, "labelled": labelled}
        if slices is not None:
            body["slices"] = slices
        return self._call("POST", f"/api/v1/deployments/{deployment['id']}/results",  # type: ignore
                          body)

    def live_results(self, deployment_id: int) -> list:
        """A deployment's live results, one per window, oldest first."""
        return self._call("GET",  # type: ignore[index]
                          f"/api/v1/deployments/{_q(deployment_id)}/results")["results"]

    def _live_deployment(self, project: str, environment: str) -> dict:
        live = self.deployments(project, environment=environment, live=True)
        if not live:
            raise ApiError(404, f"nothing is live in {environment} in project {project!r}: "
                           "deploy a run first (Api().deploy)", "deployment")
        return live[0]

    # --- profiles and drift ----------------------------------------------------------------

    def log_live_profile(self, project: str, data, *, window_start: datetime | str,
                         window_end: datetime | str, predictions=None, feature_names=None,
                         environment: str = "production") -> dict:
        """Record the profile of the inputs (and, optionally, the predictions) the project's
        deployment live in `environment` saw over one window, binned with the edges and
        categories of the deployed run's reference profile (`run.log_profile`), so the
        server can tell how far each input has drifted. `data` as for `run.log_profile`.
        Only the histograms are sent; posting the same window again replaces it.

        A reference feature the window has no column for is left out (one line on stderr
        says so), as are columns the reference lacks. ApiError 404 when nothing is live
        (field "deployment") or the run logged no reference profile (field "reference").
        """
        deployment = self._live_deployment(project, environment)
        reference = self.reference(deployment["id"])["profile"]
        live, absent = _profile.binned(data, reference, feature_names=feature_names,
                                       predictions=predictions)
        if absent:
            say(f"the window has no column for {', '.join(map(repr, absent))} of the "
                "reference profile: left out of its drift")
        body = {"window_start": _when(window_start), "window_end": _when(window_end),
                "profile": live}
        return self._call("POST",  # type: ignore[return-value]
                          f"/api/v1/deployments/{deployment['id']}/profiles", body)

    def run_profile(self, run_id: str) -> dict:
        """A run's reference profile ({"run", "run_name", "profile", "updated_at"});
        ApiError 404 when it logged none."""
        return self._call("GET", f"/api/v1/runs/{_q(run_id)}/profile")  # type: ignore

    def reference(self, deployment_id: int) -> dict:
        """The reference profile of a deployment's run ({"deployment", "run", "profile",
        ...}); ApiError 404 saying why when there is none."""
        return self._call("GET",  # type: ignore[return-value]
                          f"/api/v1/deployments/{_q(deployment_id)}/reference")

    def live_profiles(self, deployment_id: int) -> list:
        """A deployment's live profiles, one per window, oldest first."""
        return self._call("GET",  # type: ignore[index]
                          f"/api/v1/deployments/{_q(deployment_id)}/profiles")["results"]

    def drift(self, deployment_id: int) -> list:
        """Per live window, oldest first: {"window_start", "window_end", "features":
        [{"feature", "psi", "band"}] (most drifted first), "predictions"}."""
        return self._call("GET",  # type: ignore[index]
                          f"/api/v1/deployments/{_q(deployment_id)}/drift")["results"]
    # --- production and business impact --------------------------------------------------

    def production(self, project: str, environment: str = "production") -> dict:
        """Is the model live in `environment` still above the agreed bar? Its status
        (holding, slipping, below the bar, no results), the live window quoted, the test
        figure, the drift per feature, whether to retrain, and a sentence that says it all."""
        return self._call("GET", f"/api/v1/projects/{_q(project)}/production",  # type: ignore
                          query={"environment": environment})

    def record_impact(self, project: str, *, kind: str, metric: str, direction: str,
                      control: dict, treatment: dict, started_at: datetime | date | str,
                      ended_at: datetime | date | str, deployment: int | None = None,
                      run: str | None = None, unit: str | None = None,
                      note: str | None = None) -> dict:
        """Record an A/B test (kind="ab_test") or a backtest ("backtest") of one of the
        project's deployments or runs on a business metric. `control` and `treatment` are
        both rates {"successes", "n"} or both means {"mean", "sd", "n"}; `direction` is
        "maximize" when higher is better. `ended_at` is exclusive (a date: its midnight, UTC).
        The answer adds the difference with its 95 % interval, the verdict and the sentence."""
        body: dict = {"kind": kind, "metric": metric, "direction": direction,
                      "control": control, "treatment": treatment,
                      "started_at": _when(started_at), "ended_at": _when(ended_at)}
        for name, value in (("deployment", deployment), ("run", run), ("unit", unit),
                            ("note", note)):
            if value is not None:
                body[name] = str(value) if name == "run" else value
        return self._call("POST", f"/api/v1/projects/{_q(project)}/impact/",  # type: ignore
                          body)

    def impact(self, project: str) -> list:
        """The project's business results, the latest end first, each with its difference,
        95 % interval, verdict and sentence (every page)."""
        found: list = []
        query: dict = {"limit": 200}
        while True:
            answer = self._call("GET", f"/api/v1/projects/{_q(project)}/impact/", query=query)
            found.extend(answer["results"])  # type: ignore[index]
            if answer.get("next") is None:  # type: ignore[union-attr]
                return found
            query["before"] = answer["next"]  # type: ignore[index]

    def close(self) -> None:
        transport = getattr(self._local, "transport", None)
        if transport is not None:
            transport.close()

    def __repr__(self) -> str:
        return f"<targetline.Api {self.url}>"


def _when(value: datetime | date | str) -> str:
    """A moment as the server reads it: ISO 8601 text (a naive datetime is taken as UTC)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc).isoformat()
    return str(value)


def _q(value: str) -> str:
    return urllib.parse.quote(str(value), safe="")
