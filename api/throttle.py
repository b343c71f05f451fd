"""Failed token checks, counted per client address and per account, refused past a limit.

A client whose token checks failed TOKEN_FAILURE_LIMIT times in one window of
TOKEN_FAILURE_WINDOW seconds (windows follow the clock: 12:00:00 to 12:00:59, …) has that
failure and every further one in the window answered 429, with Retry-After the seconds
left in it. The account is the user name of Basic credentials (the MLflow client's
MLFLOW_TRACKING_USERNAME); a Bearer token names none, so only its address counts.

Only failures are counted, after the token's lookup found nothing: a valid token costs
not one step more (a training loop sends one with every batch) and is never refused, not
even from an address that is refused: one script with a revoked token must not stop every
other script behind the same address. Guessing a token is hopeless anyway (256 random
bits); what the limit stops is a client that keeps sending wrong ones, and the windows are
short so that a script retrying on 429 learns, within a minute, that its token is wrong.

The counts live in the cache (settings.CACHES: the database, or Redis), which every web
process shares. Sign-ins are counted by django-axes (web/lockout.py), by the address that
client_address finds.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache


def client_address(request) -> str:
    """The address of the client that sent the request: REMOTE_ADDR, or behind PROXY_COUNT
    reverse proxies the one the outermost of them found (X-Forwarded-For, each proxy adding
    the address it was called from at its end: what a client writes there itself comes
    first, and is not believed)."""
    proxies = settings.PROXY_COUNT
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(hops) >= proxies and hops[-proxies]:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def count_failed_check(request, *, account: str = "") -> int | None:
    """Count a failed token check of the request against its address and `account`: the
    seconds the client must wait when it has now failed too often, else None."""
    window = settings.TOKEN_FAILURE_WINDOW
    now = time.time()
    period = int(now // window)
    counts = [_count(f"token-failures:{kind}:{_digest(value)}:{period}", window)
              for kind, value in (("address", client_address(request)), ("account", account))
              if value]
    if counts and max(counts) >= settings.TOKEN_FAILURE_LIMIT:
        return max(1, math.ceil((period + 1) * window - now))
    return None


def _digest(value: str) -> str:
    """A fixed-length cache key part for what a client sent (any length, any characters)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _count(key: str, window: int) -> int:
    """One more failure under `key`: the count, kept until its window has surely ended."""
    if cache.add(key, 1, timeout=window):
        return 1
    try:
        count = cache.incr(key)  # atomic in Redis; the database cache reads, then writes
    except ValueError:  # expired since add()
        cache.set(key, 1, timeout=window)
        return 1
    cache.touch(key, timeout=window)  # the database cache's incr writes the default timeout
    return count
