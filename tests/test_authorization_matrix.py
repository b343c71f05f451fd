"""Who may do what, for every route the URL configuration serves.

The routes are read from config.urls' resolver, not written down: a route added without a
row in the authorization table (tests/authorization_rows.py, authorization_mlflow_rows.py)
fails here, and so does a row whose route is gone. Each (route, method) is asked by every
role (owner, member, viewer, outsider, anonymous, revoked token, staff) about the objects of one
project built once for the module; each request runs in a transaction rolled back after
it, so writes and deletes leave the next request the same project.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from tests.authorization_mlflow_rows import MLFLOW_ROWS
from tests.authorization_rows import ROLES, V1_ROWS, WEB_ROWS
from tests.authorization_world import anonymised, build_world, ghost_of, url_of

ROWS = {**V1_ROWS, **WEB_ROWS, **MLFLOW_ROWS}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Routes the table leaves out, each for its reason.
EXCLUDED = {
    "admin/": "Django's admin: staff only, under Django's own permissions",
    "login/": "the sign-in page: open to anyone by design",
    "logout/": "signing out: open to anyone by design",
    # Single sign-on: tests/web/test_sso.py.
    "oidc/authenticate/": "single sign-on's start: open to anyone by design",
    "oidc/callback/": "single sign-on's return: open to anyone by design",
    "invitations/": "an invitation's pages: the emailed link is the credential, open to "
                    "whoever holds it (tests/web/test_invitations.py)",
    "password-reset/": "Django's forgotten-password pages: open to anyone by design, as the "
                       "sign-in page (tests/web/test_password_reset.py)",
    "api/v1/schema/": "the OpenAPI schema: public documentation, no project data",
    "api/v1/docs/": "the API docs page: public documentation, no project data",
}
# The catch-all of each API prefix: every unknown URL's JSON 404 (tests/api/test_routes.py,
# tests/mlflow/test_errors.py).
CATCH_ALL = "(?P<rest>"  # api/routes.py's CATCH_ALL: any text, newlines too
# MLflow's own web UI calls the same operations under /ajax-api/: each answers as its
# /api/ route, and is asked with the same row.
TWIN_PREFIXES = {"ajax-api/": "api/"}


def _excluded(route: str) -> bool:
    """Exactly an excluded route (or its twin without the slash): admin/ is an include,
    left out whole."""
    return route in EXCLUDED or f"{route}/" in EXCLUDED


def _walk(patterns, prefix: str = ""):
    for entry in patterns:
        route = prefix + str(entry.pattern).lstrip("^").rstrip("$")
        if _excluded(route) or CATCH_ALL in route:
            continue
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        else:
            assert isinstance(entry, URLPattern)
            yield route


def served_routes() -> set[str]:
    """Every route of config.urls but the excluded; a route and its trailing-slash twin
    (api/routes.py) count once, as the slashed one."""
    routes = set(_walk(get_resolver().url_patterns))
    return {r for r in routes if f"{r}/" not in routes}


def row_of(route: str) -> str:
    """The table's route for a served route (the /api/ route of an /ajax-api/ twin)."""
    for twin, original in TWIN_PREFIXES.items():
        if route.startswith(twin):
            return original + route[len(twin):]
    return route


def test_every_route_has_a_row_and_every_row_a_route():
    served = {row_of(route) for route in served_routes()}
    in_table = {route for route, _ in ROWS}

    problems = [f"new route {r!r} has no row in the authorization table"
                for r in sorted(served - in_table)]
    problems += [f"the authorization table has a row for {r!r}, a route that no longer exists"
                 for r in sorted(in_table - served)]
    assert not problems, "\n".join(problems)


def test_every_exclusion_names_a_route():
    """An exclusion whose route is gone is a stale reason."""
    def every_route(patterns, prefix=""):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            yield route
            if isinstance(entry, URLResolver):
                yield from every_route(entry.url_patterns, route)

    routes = set(every_route(get_resolver().url_patterns))
    assert {e for e in EXCLUDED if e not in routes} == set()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The project, built once in a transaction rolled back after the module; each test's
    own transaction (pytest-django's `db`) is a savepoint inside it. /readyz probes the
    broker: the filesystem broker's folders (which `manage.py quickstart` makes under var/)
    are the test's own."""
    broker = {}
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = str(tmp_path_factory.mktemp("broker"))
        broker["CELERY_BROKER_TRANSPORT_OPTIONS"] = {
            **settings.CELERY_BROKER_TRANSPORT_OPTIONS, "data_folder_in": folder,
            "data_folder_out": folder, "processed_folder": folder, "control_folder": folder}
    with (override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"),
                            TOKEN_FAILURE_LIMIT=100_000, **broker),
          django_db_blocker.unblock(), transaction.atomic()):
        yield build_world()
        transaction.set_rollback(True)


def _is_web(route: str) -> bool:
    return not route.startswith(("api/", "ajax-api/"))


def _is_mlflow(route: str) -> bool:
    return "mlflow" in route


def _cases():
    cases = []
    for route in sorted(served_routes()):
        for (table_route, method), row in ROWS.items():
            if table_route != row_of(route):
                continue
            for role, expected in zip(ROLES, row.expected(route), strict=True):
                cases.append((route, method, role, expected))
    # Deletes last: files a delete removes are not brought back by the rollback.
    cases.sort(key=lambda case: case[1] == "DELETE")
    return [pytest.param(*case, id=f"{case[1]} /{case[0]} {case[2]}") for case in cases]


CASES = _cases()


def ask(world, route: str, method: str, role: str):
    clients = world.web if _is_web(route) else world.api
    row = ROWS.get((row_of(route), method))
    kwargs = row.send(world) if row and row.send else {}
    return getattr(clients[role], method.lower())(url_of(world, route), **kwargs)


def _check_refusal(route: str, role: str, expected: int, answer) -> None:
    """A refusal says what it is in the shape of its interface."""
    if _is_web(route):
        if expected == 302 and role in ("anonymous", "revoked"):
            assert answer["Location"].startswith("/login/?next=")
        return
    body = answer.json()
    if _is_mlflow(route):
        codes = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "RESOURCE_DOES_NOT_EXIST"}
        assert body.get("error_code") == codes.get(expected), body
    else:
        assert set(body) >= {"error", "field"}, body
    if expected == 401:
        assert answer["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method", "role", "expected"), CASES)
def test_authorization(world, route, method, role, expected):
    answer = ask(world, route, method, role)

    assert answer.status_code == expected, (
        f"{method} /{route} as {role}: {answer.status_code}, expected {expected}: "
        f"{_text(answer)[:300]!r}")
    if expected >= 400 or expected == 302:
        _check_refusal(route, role, expected, answer)
    if role == "outsider":
        _check_outsider_learns_nothing(world, route, method, answer)


def _text(answer) -> str:
    content = b"".join(answer.streaming_content) if answer.streaming else answer.content
    return content.decode(errors="replace")


def _check_outsider_learns_nothing(world, route: str, method: str, answer) -> None:
    """An outsider's answer names nothing of news-topics it was not asked about, and reads
    as the answer about objects nobody has (the same status, the same words)."""
    text = _text(answer)
    if answer.status_code < 300 or _is_web(route):
        leaked = [s for s in world.secrets if s in text]
        assert not leaked, f"an outsider read {leaked} of news-topics in {text[:300]!r}"
    if _is_web(route) or answer.status_code < 400:
        return
    ghost = ghost_of(world)
    with transaction.atomic():
        nobodys = ask(ghost, route, method, "outsider")
        transaction.set_rollback(True)
    assert (answer.status_code, anonymised(world, text)) == (
        nobodys.status_code, anonymised(ghost, _text(nobodys)))


@pytest.mark.django_db
@pytest.mark.parametrize("route", sorted(served_routes()))
def test_a_method_without_a_row_is_not_served(world, route):
    """The table lists every method a route serves: any other is refused to the owner as
    the route's interface refuses a method (405; MLflow: ENDPOINT_NOT_FOUND)."""
    for method in METHODS:
        if (row_of(route), method) in ROWS:
            continue
        with transaction.atomic():
            answer = ask(world, route, method, "owner")
            transaction.set_rollback(True)
        served = (f"{method} /{route} answered {answer.status_code} but has no row in the "
                  f"authorization table: {_text(answer)[:200]!r}")
        if _is_mlflow(route):
            assert answer.status_code == 404, served
            assert answer.json()["error_code"] == "ENDPOINT_NOT_FOUND", served
        else:
            assert answer.status_code == 405, served


def test_docs_state_the_matrix_size():
    """docs/api.md says how large the matrix is: routes, route-methods, roles, cases."""
    pairs = {(case.values[0], case.values[1]) for case in CASES}
    routes = {route for route, _ in pairs}
    assert len(CASES) == len(pairs) * len(ROLES)
    docs = " ".join((Path(settings.BASE_DIR) / "docs" / "api.md").read_text().split())
    size = (f"{len(routes)} routes, {len(pairs)} route-methods, {len(ROLES)} roles "
            f"(owner, member, viewer, outsider, anonymous, revoked token, staff), "
            f"{len(CASES):,} cases")
    assert size in docs, f"docs/api.md's roles section should say: {size!r}"


@pytest.mark.django_db
def test_path_parameters_are_all_filled(world):
    for route in served_routes():
        assert not re.search(r"[<>]", url_of(world, route)), route
