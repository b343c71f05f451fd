"""Sign-ins refused after repeated failures: the authentication backend that refuses them
and the page that says so.

django-axes counts failed sign-ins (the web UI's /login/ and the admin's) per account and
per client address (settings: LOGIN_FAILURE_LIMIT, LOGIN_LOCKOUT_SECONDS). From the
LOGIN_FAILURE_LIMIT-th failure in a row, every sign-in of that account or from that
address is refused, right password or not, until LOGIN_LOCKOUT_SECONDS pass without one:
answered 429 with Retry-After.
"""

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username, get_cool_off
from django.http import HttpRequest
from django.shortcuts import render

from web.permissions import with_csp


class LockoutBackend(AxesStandaloneBackend):
    """Refuses the sign-in of a locked-out account or address before any password is checked.

    A sign-in without a request (a management command, the test client's login()) comes
    from no client: axes has nothing to count it by, and lets it through to the next backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def lockout_parameters(request_or_attempt, credentials=None) -> list[str]:
    """What failures are counted by: the account and the address, each on its own.

    A single sign-on attempt names no account (the provider says who signed in only once it
    has answered): it is counted by address only. Counted under an empty account name too,
    every address's failed attempts would add up to one lockout of single sign-on for all.
    """
    if (isinstance(request_or_attempt, HttpRequest)
            and get_client_username(request_or_attempt, credentials) is None):
        return ["ip_address"]
    return ["username", "ip_address"]


def locked_out(request, original_response=None, credentials=None):
    """The sign-in page, answered 429 with Retry-After: how long to wait, and why."""
    seconds = int(get_cool_off(request).total_seconds())
    response = render(request, "web/login.html", {
        "lockout": "Too many failed sign-ins for this account or from this address. "
                   f"Try again in {_duration(seconds)}.",
        "next": request.POST.get("next", ""),
    }, status=429)
    response["Retry-After"] = str(seconds)
    return with_csp(response)


def _duration(seconds: int) -> str:
    count, unit = (seconds // 60, "minute") if seconds % 60 == 0 else (seconds, "second")
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
