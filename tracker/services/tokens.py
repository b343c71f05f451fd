"""API tokens: made with a raw value shown once, kept as a hash, revoked."""

import secrets

from django.utils import timezone

from tracker.models import ApiToken, AuditAction
from tracker.models.tokens import hash_token

__all__ = ["TOKEN_PREFIX", "create_token", "hash_token", "revoke_token"]
from tracker.services import audit

TOKEN_PREFIX = "tl_"


def create_token(*, user, name: str = "", address: str = "") -> tuple[ApiToken, str]:
    """A new API token; the raw token is returned once and only its hash is kept. Recorded
    in the audit log."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name or "", prefix=raw[:10],
                                    key_hash=hash_token(raw))
    audit.record(action=AuditAction.TOKEN_CREATE, project=None, user=user,
                 subject=_token_subject(token), address=address)
    return token, raw


def revoke_token(*, token: ApiToken, address: str = "") -> None:
    """Stop a token from authenticating; revoking it again keeps the first time. Recorded
    in the audit log as its user's act."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(action=AuditAction.TOKEN_REVOKE, project=None, user=token.user,
                     subject=_token_subject(token), address=address)


def _token_subject(token: ApiToken) -> str:
    return f"token {token.prefix}…" + (f" ({token.name})" if token.name else "")
