"""Signing in with the OpenID Connect provider (web/sso.py): the start, which sends the
browser to the provider, and the callback it comes back to. Both answer 404 while single
sign-on is not configured."""

from django.core.exceptions import SuspiciousOperation
from django.shortcuts import render
from mozilla_django_oidc import views as oidc_views

from web import sso
from web.permissions import with_csp


def _not_configured(request):
    return with_csp(render(request, "web/error.html", {
        "title": "Not found", "message": "Single sign-on is not configured on this server."},
        status=404))


def _refused(request, reason: str, status: int = 403):
    return with_csp(render(request, "web/sso_refused.html", {"reason": reason}, status=status))


def _unavailable(request, exc: sso.SsoUnavailable):
    return _refused(request, f"{exc} Try again later, or sign in with a password.", status=503)


class StartView(oidc_views.OIDCAuthenticationRequestView):
    """Sends the browser to the provider's authorization endpoint (with state, nonce and a
    PKCE challenge kept in the session), remembering where to come back to (?next=)."""

    def __init__(self, **kwargs):
        # Not the parent's __init__: it reads the endpoint, which may need the network.
        super(oidc_views.OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request):
        if not sso.enabled():
            return _not_configured(request)
        try:
            self.OIDC_OP_AUTH_ENDPOINT = sso.endpoint("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except sso.SsoUnavailable as exc:
            return _unavailable(request, exc)
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        return super().get(request)


class CallbackView(oidc_views.OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back: signs the person in, or says why not."""

    def get(self, request):
        if not sso.enabled():
            return _not_configured(request)
        try:
            return super().get(request)
        except sso.SsoUnavailable as exc:
            return _unavailable(request, exc)
        except SuspiciousOperation:  # a state this browser's session never started
            request.sso_refusal = ("This sign-in was not started from this browser, or was "
                                   "already used. Start again from the sign-in page.")
            return self.login_failure()

    def login_failure(self):
        request = self.request
        reason = getattr(request, "sso_refusal", None)
        if reason is None and request.GET.get("error"):
            said = request.GET.get("error_description") or request.GET["error"]
            reason = f"The sign-in provider did not sign you in: {said.rstrip('.')}."
        if reason is None and "oidc_states" not in request.session:
            reason = ("This browser's session has no sign-in in progress (it expired, or "
                      "cookies are blocked). Start again from the sign-in page.")
        return _refused(request, reason or "The sign-in did not complete. Start again from "
                                           "the sign-in page.")

    def login_success(self):
        return with_csp(super().login_success())


start = StartView.as_view()
callback = CallbackView.as_view()
