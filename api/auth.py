"""Token authentication: `Authorization: Bearer <token>` (and Basic with the token as password,
which is how the MLflow client sends MLFLOW_TRACKING_USERNAME/PASSWORD)."""

import base64
import binascii

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from tracker import hot_sql
from tracker.models import ApiToken
from tracker.services import hash_token


def _token_query() -> tuple[str, type]:
    User = get_user_model()
    return (f"SELECT t.id, t.last_used_at, {hot_sql.columns(User, 'u')} "
            f"FROM {ApiToken._meta.db_table} AS t "
            f"JOIN {User._meta.db_table} AS u ON u.{User._meta.pk.column} = t.user_id "
            "WHERE t.key_hash = %s AND t.revoked_at IS NULL"), User


def user_for_token(raw: str):
    """The active user of an unrevoked token, or None. One plain query: every batch a
    training script sends is authenticated."""
    sql, User = _token_query()
    row = hot_sql.fetch_one(sql, [hash_token(raw)])
    if row is None:
        return None
    token_id, last_used_at, *user_row = row
    user = hot_sql.instance(User, user_row)
    if not user.is_active:
        return None
    now = timezone.now()
    last_used_at = hot_sql.aware(last_used_at)
    # Touch last_used_at at most once a minute: a training loop must not cost a write per batch.
    if last_used_at is None or (now - last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user


class BearerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, credentials = header.partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "bearer":
            raw = credentials
        elif scheme == "basic":
            try:
                decoded = base64.b64decode(credentials).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise exceptions.AuthenticationFailed("malformed Basic credentials") from None
            _, _, raw = decoded.partition(":")
        else:
            return None
        if not raw:
            raise exceptions.AuthenticationFailed("empty token in the Authorization header")
        user = user_for_token(raw)
        if user is None:
            raise exceptions.AuthenticationFailed(
                "invalid or revoked token; create one with `python manage.py createtoken USER`")
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
