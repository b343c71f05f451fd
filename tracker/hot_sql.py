"""The SQL statements nearly every tracking request runs, at the lowest cost per call.

A training script sends a batch every few milliseconds, and each batch runs the
same handful of statements (token, run and role, run lock, summaries, points);
an MLflow client reads its run back as often. Through the ORM each costs more
in Python than in the database, so these are plain SQL. On PostgreSQL they go
through a psycopg cursor on Django's own connection (so they share its
transaction) with server-side binding, and are prepared once per connection and
then only executed. Elsewhere (SQLite, the zero-set-up default) Django's cursor
runs them.

Placeholders are `%s`, as in Django's raw SQL. UUID parameters (alone or in a
list) are passed as the database stores them.
"""

import uuid as _uuid
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils.dateparse import parse_datetime


def _param(value):
    """A UUID as SQLite stores it (32 hex digits); PostgreSQL takes UUIDs as they are."""
    if isinstance(value, _uuid.UUID):
        return value.hex
    if isinstance(value, list) and value and isinstance(value[0], _uuid.UUID):
        return [v.hex for v in value]
    return value


def _execute(cursor, sql: str, params) -> None:
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of `connection` looks it up again
    if db.vendor != "postgresql":
        cursor.execute(sql, [_param(p) for p in params])
        return
    # Errors become Django's (IntegrityError, …), as from the ORM's own cursors.
    with db.wrap_database_errors:
        cursor.execute(sql, params, prepare=True)


def _cursor():
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        return db.cursor()
    db.ensure_connection()
    return psycopg.Cursor(db.connection)


def any_of(column: str, values: list, sql_type: str) -> tuple[str, list]:
    """`column` is one of `values`: ("col = ANY(%s::type[])", [values]) on PostgreSQL (one
    prepared statement whatever their number), ("col IN (%s, …)", values) elsewhere."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::{sql_type}[])", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def fetch_one(sql: str, params=()) -> tuple | None:
    """The first row of a query, or None."""
    with _cursor() as cursor:
        _execute(cursor, sql, params)
        return cursor.fetchone()


def fetch_all(sql: str, params=()) -> list[tuple]:
    """Every row of a query."""
    with _cursor() as cursor:
        _execute(cursor, sql, params)
        return cursor.fetchall()


def execute(sql: str, params=()) -> None:
    """Run a statement (inside atomic_pipeline(), send it without waiting for its answer)."""
    with _cursor() as cursor:
        _execute(cursor, sql, params)


def fetch_all_of(*queries: tuple[str, list]) -> list[list[tuple]]:
    """Every row of each (sql, params) query, the queries sent together: in one round trip
    to PostgreSQL (a pipeline), whether or not a transaction is open."""
    if connection.vendor != "postgresql":
        return [fetch_all(sql, params) for sql, params in queries]
    with _pipeline():
        pending = [send(sql, params) for sql, params in queries]
        return [p.fetch_all() for p in pending]


def insert(made) -> None:
    """INSERT a new model instance whose primary key is set already (a UUID drawn by its
    default), each value prepared as Model.save(force_insert=True) prepares it, without the
    ORM's query compiler; the instance is then saved (not `adding`)."""
    meta = made._meta
    fields = meta.concrete_fields
    values = [field.get_db_prep_save(field.pre_save(made, True), connection) for field in fields]
    execute(f"INSERT INTO {meta.db_table} ({columns(made.__class__)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})", values)
    made._state.adding, made._state.db = False, connection.alias


class Pending:
    """A statement sent by send(), whose rows are read later."""

    def __init__(self, sql: str, params):
        self._cursor = _cursor()
        _execute(self._cursor, sql, params)

    def fetch_one(self) -> tuple | None:
        with self._cursor as cursor, connection.wrap_database_errors:
            return cursor.fetchone()

    def fetch_all(self) -> list[tuple]:
        with self._cursor as cursor, connection.wrap_database_errors:
            return cursor.fetchall()


def send(sql: str, params=()) -> Pending:
    """Send a statement now and read its rows later: inside atomic_pipeline(), several statements
    then travel to PostgreSQL together and their answers come back together."""
    return Pending(sql, params)


@contextmanager
def atomic_pipeline():
    """transaction.atomic() whose statements are sent without waiting for each answer
    (psycopg's pipeline mode, on PostgreSQL): answers are awaited when rows are read, and
    the commit goes with the last statements. Elsewhere, a plain transaction.atomic().

    Outermost, the transaction is opened before the pipeline and committed inside it:
    switching autocommit inside a pipeline costs psycopg an empty round trip each way,
    so the whole transaction then takes one round trip per read plus one for the writes
    and the commit. Inside another atomic block it is a savepoint, sent with the
    statements.

    On an error the pipeline is closed before the transaction (or savepoint) is rolled
    back: a savepoint rolled back inside a pipeline makes psycopg forget its prepared
    statements only once the pipeline ends, after which it may prepare a statement and
    drop it at once ("prepared statement … does not exist" on its next use).
    """
    if connection.vendor != "postgresql":
        with transaction.atomic():
            yield
        return
    if connection.in_atomic_block:
        # The savepoint and its release are pipelined too.
        with _pipeline() as close, transaction.atomic():
            try:
                yield
            except BaseException as error:
                close(error)  # the rollback to the savepoint runs after the pipeline
                raise
        return
    with transaction.atomic(), _pipeline():
        yield
        if not connection.needs_rollback:
            # Sent with the writes; atomic()'s own commit then finds the transaction ended.
            execute("COMMIT")


@contextmanager
def _pipeline():
    """psycopg's pipeline mode on Django's connection; yields close(error=None), which awaits
    the pipeline's answers and ends it (once), raising an error of one of its statements
    as Django's unless `error` is on its way already."""
    connection.ensure_connection()
    pipeline = connection.connection.pipeline()
    with connection.wrap_database_errors:
        pipeline.__enter__()
    is_open = True

    def close(error: BaseException | None = None) -> None:
        nonlocal is_open
        if is_open:
            is_open = False
            with connection.wrap_database_errors:
                pipeline.__exit__(type(error) if error else None, error,
                                  error.__traceback__ if error else None)

    try:
        yield close
    except BaseException as error:
        close(error)
        raise
    close()


def uuid(value) -> _uuid.UUID | None:
    """A uuid column's value as a UUID (SQLite stores 32 hex digits)."""
    return value if value is None or isinstance(value, _uuid.UUID) else _uuid.UUID(value)


def aware(value) -> datetime | None:
    """A timestamp column's value as an aware datetime (SQLite gives naive UTC, or text)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


_converters: dict = {}


def columns(model, alias: str = "") -> str:
    """The model's columns in field order, as instance() reads them: "a.id, a.name, …"."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + field.column for field in model._meta.concrete_fields)


def _converters_of(model) -> list[tuple]:
    key = (model, connection.vendor)
    if key not in _converters:
        found = []
        for index, field in enumerate(model._meta.concrete_fields):
            column = field.get_col(model._meta.db_table)
            converters = (connection.ops.get_db_converters(column)
                          + column.get_db_converters(connection))
            if converters:
                found.append((index, column, converters))
        _converters[key] = found
    return _converters[key]


def instance(model, row):
    """A model instance from a row of columns(model), its values converted as the ORM does."""
    values = list(row)
    for index, column, converters in _converters_of(model):
        for converter in converters:
            values[index] = converter(values[index], column, connection)
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model.from_db(connection.alias, None, values)
    # What from_db makes, without Model.__init__'s walk over the fields (a few instances
    # a request, on every request): the values set as they come, by attribute name.
    made = model.__new__(model)
    made.__dict__.update(zip(_attnames_of(model), values, strict=True))
    made._state = ModelState()
    made._state.adding, made._state.db = False, connection.alias
    return made


_attnames: dict = {}


def _attnames_of(model) -> tuple[str, ...]:
    if model not in _attnames:
        _attnames[model] = tuple(field.attname for field in model._meta.concrete_fields)
    return _attnames[model]


def instances(row, *models) -> list:
    """Instances of several models from one row of columns(m1), columns(m2), … in order.

    A model whose columns are all NULL (a LEFT JOIN that found nothing) gives None.
    """
    found, start = [], 0
    for model in models:
        width = len(model._meta.concrete_fields)
        values = row[start:start + width]
        start += width
        found.append(None if all(v is None for v in values) else instance(model, values))
    return found

