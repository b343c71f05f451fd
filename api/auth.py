"""Token authentication: `Authorization: Bearer <token>` (and Basic with the token as password,
which is how the MLflow client sends MLFLOW_TRACKING_USERNAME/PASSWORD).

A token is found by the SHA-256 hash of what the request sends, in one indexed query
(tracker.services.tokens.hash_token): the raw token is never compared with anything, so
the time an answer takes tells nothing about how much of a guess was right. Failed checks
are counted, and refused past a limit, by throttle.py.
"""

import base64
import binascii
import contextlib
import math
import time

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from api import throttle
from tracker import hot_sql
from tracker.models import ApiToken
from tracker.services.tokens import hash_token

# A token `t` that is valid: its hash is the one parameter, and it is not revoked.
_VALID_TOKEN = "t.key_hash = %s AND t.revoked_at IS NULL"


def _token_query(columns: str = "", joins: str = "") -> tuple[str, type]:
    User = get_user_model()
    return (f"SELECT t.id, t.last_used_at, {hot_sql.columns(User, 'u')}{columns} "
            f"FROM {ApiToken._meta.db_table} AS t "
            f"JOIN {User._meta.db_table} AS u ON u.{User._meta.pk.column} = t.user_id {joins}"
            f"WHERE {_VALID_TOKEN}"), User


def token_user_id_sql() -> tuple[str, list]:
    """SQL for the id of the active user of a valid token, as a subquery (what token_user
    finds, for a statement that checks a permission itself), and its parameters after
    the token's hash."""
    User = get_user_model()
    return (f"(SELECT t.user_id FROM {ApiToken._meta.db_table} AS t "
            f"JOIN {User._meta.db_table} AS u ON u.{User._meta.pk.column} = t.user_id "
            f"WHERE {_VALID_TOKEN} AND u.is_active = %s)"), [True]


_uses_noted: dict[str, float] = {}  # token hash: when this process last recorded its use


def note_token_use(token_hash: str) -> None:
    """Record the use of a token that a statement found valid without token_user: its
    last_used_at, at most once a minute from each process, as token_user keeps it."""
    now = time.monotonic()
    if now - _uses_noted.get(token_hash, -math.inf) < 60:
        return
    if len(_uses_noted) > 10_000:
        _uses_noted.clear()
    _uses_noted[token_hash] = now
    ApiToken.objects.filter(key_hash=token_hash).update(last_used_at=timezone.now())


def token_user(raw: str, *, columns: str = "", joins: str = "", params=()) -> tuple:
    """(the active user of an unrevoked token or None, the row's further columns).

    One plain query: every batch a training script sends is authenticated. A caller
    may read more in the same query: `columns` (", …", which may refer to the user
    as `u`) from `joins`, whose `params` come before the token's.
    """
    sql, User = _token_query(columns, joins)
    row = hot_sql.fetch_one(sql, [*params, hash_token(raw)])
    if row is None:
        return None, ()
    token_id, last_used_at, *rest = row
    width = len(User._meta.concrete_fields)
    user = hot_sql.instance(User, rest[:width])
    if not user.is_active:
        return None, ()
    now = timezone.now()
    last_used_at = hot_sql.aware(last_used_at)
    # Touch last_used_at at most once a minute: a training loop must not cost a write per batch.
    if last_used_at is None or (now - last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user, tuple(rest[width:])


def user_for_token(raw: str):
    """The active user of an unrevoked token, or None."""
    return token_user(raw)[0]


INVALID_TOKEN = "invalid or revoked token; create one with `python manage.py createtoken USER`"


def raw_token(request) -> str | None:
    """The token of a request (Bearer, or Basic with the token as password), or None when it
    sends none; AuthenticationFailed when the header is malformed."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "bearer":
        raw = credentials
    elif scheme == "basic":
        _, _, raw = _basic_credentials(credentials).partition(":")
    else:
        return None
    if not raw:
        raise exceptions.AuthenticationFailed("empty token in the Authorization header")
    return raw


def _basic_credentials(encoded: str) -> str:
    """`user:password` of Basic credentials; AuthenticationFailed when they are malformed."""
    try:
        return base64.b64decode(encoded).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise exceptions.AuthenticationFailed("malformed Basic credentials") from None


def failed_check_wait(request) -> int | None:
    """Count a failed token check of the request (throttle.py), against its address and the
    user name of its Basic credentials: the seconds it must wait when it has failed too
    often, to answer 429 with, else None."""
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    account = ""
    if scheme.lower() == "basic":
        with contextlib.suppress(exceptions.AuthenticationFailed):  # counted by address alone
            account = _basic_credentials(credentials.strip()).partition(":")[0]
    return throttle.count_failed_check(request, account=account)


def too_many_failures(wait: int) -> str:
    return (f"too many failed token checks from this address or account; "
            f"try again in {wait} seconds")


class BearerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        try:
            raw = raw_token(request)
            if raw is None:
                return None
            user = user_for_token(raw)
            if user is None:
                raise exceptions.AuthenticationFailed(INVALID_TOKEN)
        except exceptions.AuthenticationFailed:
            wait = failed_check_wait(request)
            if wait is not None:
                throttled = exceptions.Throttled(detail=too_many_failures(wait))
                throttled.wait = wait  # Retry-After (api.errors)
                raise throttled from None
            raise
        return (user, raw)

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) when credentials are missing.
        return 'Bearer realm="targetline"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Tells drf-spectacular how our tokens are sent, for the interactive docs' Authorize button."""

    target_class = "api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A token from `python manage.py createtoken USERNAME`"}
