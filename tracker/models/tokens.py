"""API tokens: a user's credentials for scripts (only a hash of the token is kept)."""

import hashlib

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """An API token; only its SHA-256 is stored, the token itself is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=200, blank=True, default="")
    prefix = models.CharField(max_length=12)  # first characters, to recognise a token in a list
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


def hash_token(raw: str) -> str:
    """What is kept of a raw token (an API token, an invitation link's), and what one
    presented is looked up by."""
    return hashlib.sha256(raw.encode()).hexdigest()
