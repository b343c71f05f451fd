"""Who is calling, and which experiments and runs they may read or write.

Roles are those of the v1 API: viewers read, members and owners also write,
and someone who is not a member of a project gets RESOURCE_DOES_NOT_EXIST for
everything in it (they learn nothing about it). Run ids are our UUIDs as 32 hex
digits (MLflow's form); the dashed form works too. Where experiments live among
projects, "0" included, is placement.py's.

A call names its run or experiment, and nearly every call is about one: its token, the
run or experiment and the user's role there are read in one query (authenticate). The
logging calls do not even read them: the statement that locks their run checks that the
token's user may write to it (locked_writer), and only a refused call is read to say why
(refusal).
"""

import re
import uuid
from typing import NamedTuple

from django.contrib.auth import get_user_model
from rest_framework.exceptions import AuthenticationFailed

from api.auth import (
    INVALID_TOKEN,
    failed_check_wait,
    raw_token,
    token_user,
    token_user_id_sql,
    too_many_failures,
    user_for_token,
)
from api.mlflow.errors import (
    REQUEST_LIMIT_EXCEEDED,
    UNAUTHENTICATED,
    MlflowError,
    invalid,
    not_found,
)
from api.mlflow.placement import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    default_experiment,
    default_project_slug,
)
from api.mlflow.roles import check_write, role_in
from tracker import hot_sql
from tracker.ingest import LockGuard
from tracker.models import Experiment, Membership, Project, Run
from tracker.permissions import WRITE_ROLES
from tracker.services import tokens as token_services

User = get_user_model()


def authenticate(request, *, run_id=None, related: bool = True, experiment_id=None):
    """The user of the request's token (Bearer, or Basic with the token as password).

    The run or experiment the request names is read in the same query, with the user's
    role in its project, and kept on the user for the request's run_for or experiment_for:
    nearly every MLflow call is about one run or experiment, so it starts with one query
    instead of two. `related`: the run's project, experiment and creator too.
    """
    try:
        raw = raw_token(request)
        if raw is None:
            raise MlflowError(
                "authentication required: set MLFLOW_TRACKING_TOKEN to a Targetline API token "
                "(or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD=<token>)",
                UNAUTHENTICATED)
    except AuthenticationFailed as exc:
        raise _failed_check(request, str(exc.detail)) from None
    run_pk = _run_pk_or_none(run_id)
    experiment_pk = _experiment_pk_or_none(experiment_id)
    if run_pk is not None:  # u: the token's user
        columns, joins = _run_sql(related=related, user_column="u.id")
        user, rest = token_user(raw, columns=f", {columns}", params=[run_pk],
                                joins=f"LEFT JOIN {Run._meta.db_table} AS r ON r.id = %s {joins}")
        if user is not None:
            user.prefetched_run = (run_pk, related, _run_from_row(rest, related=related))
    elif experiment_pk is not None:
        user, rest = token_user(raw, columns=f", {_experiment_columns('u.id')}",
                                joins=_EXPERIMENT_JOINS, params=[experiment_pk])
        if user is not None:
            user.prefetched_experiment = (experiment_pk, _experiment_from_row(rest))
    else:
        user = user_for_token(raw)
    if user is None:
        raise _failed_check(request, INVALID_TOKEN)
    return user


def _failed_check(request, message: str) -> MlflowError:
    """The error of a failed token check, counted (api/throttle.py): UNAUTHENTICATED, or
    REQUEST_LIMIT_EXCEEDED when its client has failed too often."""
    wait = failed_check_wait(request)
    if wait is None:
        return MlflowError(message, UNAUTHENTICATED)
    return MlflowError(too_many_failures(wait), REQUEST_LIMIT_EXCEEDED, retry_after=wait)


# --- The logging calls: authorised by their run's lock ----------------------------------

class LockedWriter(NamedTuple):
    """A logging call whose token is checked by its run's lock (tracker.ingest.LockGuard)
    instead of by a query before the batch's transaction."""

    run_pk: uuid.UUID
    guard: LockGuard
    token_hash: str


def locked_writer(request, run_id) -> LockedWriter:
    """The request's token and run as a LockedWriter: the lock it takes for a batch finds the
    run only if the token's active user may write to it. RESOURCE_DOES_NOT_EXIST when the
    request has no token or no run id to try: refusal() then tells the right error."""
    try:
        raw = raw_token(request)
    except AuthenticationFailed:
        raw = None
    run_pk = _run_pk_or_none(run_id)
    if raw is None or run_pk is None:
        raise not_found(f"Run with id={run_id} not found")
    user_sql, user_params = token_user_id_sql()
    role = role_in(f"{Run._meta.db_table}.project_id", user_sql)
    token_hash = token_services.hash_token(raw)
    guard = LockGuard(f"{role} IN (%s, %s)",
                      [token_hash, *user_params, *sorted(role.value for role in WRITE_ROLES)])
    return LockedWriter(run_pk, guard, token_hash)


def refusal(request, run_id, error: Exception) -> Exception:
    """What to tell of a logging call that failed with `error`: the token's error, or the
    run's (not found, permission denied, deleted), as MLflow tells them before anything
    about the body, raised here; else `error` itself, to raise.

    A lock that found no run it could write to says nothing of why: the token and the run
    are read now to say it, as authenticate and run_for tell it for every other call.
    """
    user = authenticate(request, run_id=run_id, related=False)
    run_for(user, run_id, write=True, related=False)
    return error


# --- Experiments --------------------------------------------------------------------

def parse_experiment_id(raw) -> str:
    text = str(raw if raw is not None else "").strip()
    if not re.fullmatch(r"\d{1,18}", text):
        raise invalid(f"Invalid experiment ID '{raw}'. Experiment ID must be a valid integer.")
    return text


def experiment_for(user, raw_id, *, write: bool = False) -> Experiment:
    """The experiment with that MLflow id, its `role` set; "0" is the user's default."""
    experiment_id = parse_experiment_id(raw_id)
    prefetched = getattr(user, "prefetched_experiment", None)
    if experiment_id == DEFAULT_EXPERIMENT_ID:
        experiment = (_default_experiment_with_role(user)
                      or _experiment_with_role(default_experiment(user).pk, user))
    elif prefetched is not None and prefetched[0] == int(experiment_id):
        user.prefetched_experiment = None  # read once: a later call sees it as it is then
        experiment = prefetched[1]
    else:
        experiment = _experiment_with_role(int(experiment_id), user)
    if experiment is None:
        raise not_found(f"No Experiment with id={experiment_id} exists")
    if write:
        check_write(experiment.role, "experiment")
    return experiment


def experiment_pks(user, raw_ids) -> set[int]:
    """Our experiment ids for MLflow experiment ids ("0" is the user's default experiment)."""
    ids = set()
    for raw in raw_ids:
        experiment_id = parse_experiment_id(raw)
        if experiment_id == DEFAULT_EXPERIMENT_ID:
            default = default_experiment(user, create=False)
            if default is not None:
                ids.add(default.pk)
        else:
            ids.add(int(experiment_id))
    return ids


def _experiment_pk_or_none(raw) -> int | None:
    """The experiment a request names by a plain id (not "0", the user's default), or None."""
    try:
        experiment_id = parse_experiment_id(raw)
    except MlflowError:  # told by the view, after the token
        return None
    return None if experiment_id == DEFAULT_EXPERIMENT_ID else int(experiment_id)


def _experiment_columns(user_column: str = "%s") -> str:
    """An experiment `e`, its project `p` and the user's role there (of _EXPERIMENT_JOINS);
    the user is a parameter, or `user_column`."""
    return (f"{hot_sql.columns(Experiment, 'e')}, {hot_sql.columns(Project, 'p')}, "
            f"{role_in('e.project_id', user_column)}")


# The experiment `e` whose id is a parameter, and its project `p`.
_EXPERIMENT_JOINS = (f"LEFT JOIN {Experiment._meta.db_table} AS e ON e.id = %s "
                     f"LEFT JOIN {Project._meta.db_table} AS p ON p.id = e.project_id ")


def _experiment_from_row(row) -> Experiment | None:
    """The experiment of `_experiment_columns` with its project and `role`, or None when it
    does not exist or the user is not a member of its project."""
    if row[-1] is None:
        return None
    experiment, experiment.project = hot_sql.instances(row[:-1], Experiment, Project)
    experiment.role = row[-1]
    return experiment


def _experiment_with_role(pk: int, user) -> Experiment | None:
    """The experiment, its project and the user's role there (`role`), when the user is a
    member; one plain query."""
    row = hot_sql.fetch_one(
        f"SELECT {_experiment_columns()} FROM (SELECT 1) AS one {_EXPERIMENT_JOINS}",
        [user.pk, pk])
    return None if row is None else _experiment_from_row(row)


def _default_experiment_with_role(user) -> Experiment | None:
    """The user's experiment "0" with its project and role in one plain query, or None
    until it exists (`mlflow.start_run()` without an experiment asks for it every run)."""
    base = default_project_slug(user)
    memberships, projects = Membership._meta.db_table, Project._meta.db_table
    row = hot_sql.fetch_one(  # in the personal project placement._default_project would pick
        f"SELECT {hot_sql.columns(Experiment, 'e')}, {hot_sql.columns(Project, 'p')}, m.role "
        f"FROM {Experiment._meta.db_table} AS e JOIN {projects} AS p ON p.id = e.project_id "
        f"JOIN {memberships} AS m ON m.project_id = p.id AND m.user_id = %s "
        f"WHERE e.name = %s AND p.id = (SELECT p2.id FROM {projects} AS p2 "
        f"JOIN {memberships} AS m2 ON m2.project_id = p2.id AND m2.user_id = %s "
        "WHERE p2.slug IN (%s, %s) ORDER BY p2.slug = %s DESC LIMIT 1)",
        [user.pk, DEFAULT_EXPERIMENT_NAME, user.pk, base, f"{base}-{user.pk}", base])
    return None if row is None else _experiment_from_row(row)


# --- Runs ---------------------------------------------------------------------------

def _run_pk_or_none(raw) -> uuid.UUID | None:
    try:
        return None if raw is None else uuid.UUID(str(raw).strip())
    except ValueError:
        return None


def parse_run_id(raw) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw).strip())
    except (ValueError, AttributeError):
        raise not_found(f"Run with id={raw} not found") from None


def run_for(user, raw_id, *, write: bool = False, allow_deleted: bool = False,
            related: bool = True) -> Run:
    """The run (with project, experiment, creator and the user's `role`) in one query.

    Reads find deleted runs (MLflow shows them as lifecycle_stage "deleted");
    writes to them are refused, as MLflow does. `related=False` skips loading
    the project, experiment and creator, for the calls that need none.
    """
    if not raw_id:
        raise invalid("Missing value for required parameter 'run_id'.")
    pk = parse_run_id(raw_id)
    prefetched = getattr(user, "prefetched_run", None)  # by authenticate
    if prefetched is not None and prefetched[0] == pk and (prefetched[1] or not related):
        user.prefetched_run = None  # read once: a later call sees the run as it is then
        run = prefetched[2]
    else:
        run = _run_with_role(pk, user, related=related)
    if run is None or run.role is None:
        raise not_found(f"Run with id={raw_id} not found")
    if write:
        check_write(run.role, "run")
        if run.deleted_at is not None and not allow_deleted:
            raise invalid(f"The run {run.id.hex} must be in the 'active' state. "
                          "Current state is deleted.")
    return run


def _run_with_role(pk: uuid.UUID, user, *, related: bool) -> Run | None:
    """The run with the user's role in its project (`role`), and with `related` its project,
    experiment and creator, in one plain query: MLflow clients read or write a run in
    nearly every request."""
    columns, joins = _run_sql(related=related)
    row = hot_sql.fetch_one(f"SELECT {columns} FROM {Run._meta.db_table} AS r {joins}"
                            "WHERE r.id = %s", [user.pk, pk])
    return None if row is None else _run_from_row(row, related=related)


_RUN_MODELS = {True: (Run, Project, Experiment, User), False: (Run,)}


def _run_sql(*, related: bool, user_column: str = "%s") -> tuple[str, str]:
    """(columns, joins) of a run `r`, the user's role in its project and with `related` its
    project, experiment and creator; the user (of the role) is a parameter or `user_column`."""
    models = _RUN_MODELS[related]
    columns = ", ".join(hot_sql.columns(model, alias)
                        for model, alias in zip(models, "rpec", strict=False))
    joins = (f"LEFT JOIN {Project._meta.db_table} AS p ON p.id = r.project_id "
             f"LEFT JOIN {Experiment._meta.db_table} AS e ON e.id = r.experiment_id "
             f"LEFT JOIN {User._meta.db_table} AS c ON c.{User._meta.pk.column} = r.created_by_id "
             if related else "")
    return f"{columns}, {role_in('r.project_id', user_column)}", joins


def _run_from_row(row, *, related: bool) -> Run | None:
    run, *others = hot_sql.instances(row[:-1], *_RUN_MODELS[related])
    if run is None:
        return None
    if related:
        run.project, run.experiment, run.created_by = others
    run.role = row[-1]
    return run
