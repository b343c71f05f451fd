"""Single sign-on with an OpenID Connect provider (mozilla-django-oidc), when configured.

Settings (config/settings.py, docs/operations.md#single-sign-on): the client registered at
the provider (OIDC_CLIENT_ID, OIDC_CLIENT_SECRET), the provider (OIDC_ISSUER, whose
discovery document gives the endpoints, or the OIDC_OP_*_ENDPOINT variables) and the email
domains admitted (OIDC_ALLOWED_EMAIL_DOMAINS). The authorization code flow with PKCE and a
nonce; the ID token must be signed with RS256 by a key of the provider's JWKS, be issued by
the provider, for this client, and not be expired.

A person is matched to an account by the email address the provider vouches for; the first
sign-in creates the account (named from preferred_username, else the address's local part,
made unique). A refusal says why (SsoRefused) and is counted as a failed sign-in by the
address it came from (web/lockout.py).
"""

import re

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import IntegrityError, transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

DISCOVERY_PATH = "/.well-known/openid-configuration"
# The discovery document's name for each endpoint mozilla-django-oidc's setting names.
_DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
_USERNAME_LENGTH = 150  # django.contrib.auth's User.username
_NOT_IN_USERNAME = re.compile(r"[^\w.@+-]")

_discovered: dict[str, dict] = {}  # issuer -> its discovery document, once read


class SsoUnavailable(Exception):
    """The provider could not be reached, or answered with something that is not OpenID
    Connect: nobody can sign in with it until that is fixed (the page says so, 503)."""


class SsoRefused(PermissionDenied):
    """This sign-in is refused, for the reason given (the page says it, 403).

    A PermissionDenied: django.contrib.auth stops trying backends and announces a failed
    sign-in, which django-axes counts."""


def enabled() -> bool:
    return settings.SSO_ENABLED


def _discovery(issuer: str) -> dict:
    if issuer not in _discovered:
        url = issuer.rstrip("/") + DISCOVERY_PATH
        try:
            response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise SsoUnavailable(f"The sign-in provider's settings could not be read from "
                                 f"{url} ({exc}).") from exc
        if not isinstance(document, dict):
            document = {}
        missing = [name for name in ("issuer", *_DISCOVERED.values()) if not document.get(name)]
        if missing:
            raise SsoUnavailable(f"{url} is not an OpenID Connect discovery document "
                                 f"(it has no {', '.join(missing)}).")
        if str(document["issuer"]).rstrip("/") != issuer.rstrip("/"):
            raise SsoUnavailable(f"{url} names another issuer, {document['issuer']}: "
                                 "OIDC_ISSUER must be the provider's own.")
        _discovered[issuer] = document
    return _discovered[issuer]


def endpoint(name: str) -> str:
    """An endpoint of the provider (a setting name such as OIDC_OP_TOKEN_ENDPOINT): the
    setting's own value when set, else the issuer's discovery document's."""
    configured = getattr(settings, name, "")
    if configured:
        return configured
    return _discovery(settings.OIDC_ISSUER)[_DISCOVERED[name]]


def issuer() -> str | None:
    """The issuer ID tokens must name: the discovered one (None without OIDC_ISSUER)."""
    return _discovery(settings.OIDC_ISSUER)["issuer"] if settings.OIDC_ISSUER else None


def refuse(request, reason: str) -> SsoRefused:
    request.sso_refusal = reason  # django.contrib.auth swallows the exception, not this
    return SsoRefused(reason)


def email_domain_allowed(email: str) -> bool:
    allowed = settings.OIDC_ALLOWED_EMAIL_DOMAINS
    return not allowed or email.rsplit("@", 1)[-1].lower() in allowed


def unique_username(claims: dict) -> str:
    """preferred_username, else the address's local part, in the characters a username may
    hold, with -2, -3… when the name is taken."""
    base = claims.get("preferred_username") or claims["email"].split("@", 1)[0]
    base = _NOT_IN_USERNAME.sub("", str(base))[:_USERNAME_LENGTH - 8] or "user"
    users = get_user_model().objects
    name, n = base, 1
    while users.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


class SsoBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend with the endpoints resolved when first needed (a
    provider that is down must not stop the server, nor password sign-ins), the ID token's
    issuer, audience and expiry checked, and every refusal given a reason."""

    def __init__(self, *args, **kwargs):
        # Not the parent's __init__: it reads the endpoints, which may need the network.
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None  # the key comes from the provider's JWKS

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self):  # noqa: N802 -- the parent's attribute names
        return endpoint("OIDC_OP_TOKEN_ENDPOINT")

    @property
    def OIDC_OP_USER_ENDPOINT(self):  # noqa: N802
        return endpoint("OIDC_OP_USER_ENDPOINT")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self):  # noqa: N802
        return endpoint("OIDC_OP_JWKS_ENDPOINT")

    def authenticate(self, request, **kwargs):
        # Only the callback view signs in through here (it passes the nonce it kept); a
        # password sign-in never reaches the provider.
        if request is None or "nonce" not in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except SuspiciousOperation as exc:
            raise refuse(request, "The sign-in provider's answer could not be verified "
                                  f"({exc}).") from exc
        except requests.HTTPError as exc:
            raise refuse(request, "The sign-in provider did not confirm this sign-in "
                                  f"(HTTP {exc.response.status_code}).") from exc
        except requests.RequestException as exc:  # unreachable, or not answering JSON
            raise SsoUnavailable(f"The sign-in provider could not be reached ({exc}).") from exc

    def verify_token(self, token, **kwargs):
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation("the ID token is not a signed token") from exc
        if algorithm != self.OIDC_RP_SIGN_ALGO:  # "none" (unsigned) included
            raise SuspiciousOperation(f"the ID token is signed with {algorithm!r}, "
                                      f"not {self.OIDC_RP_SIGN_ALGO}")
        try:
            return super().verify_token(token, **kwargs)
        except KeyError as exc:  # the parent looks the key up by the header's "kid"
            raise SuspiciousOperation("the ID token names no signing key") from exc

    def _verify_jws(self, payload, key):
        """The signature, by the provider's key, and the claims the parent leaves out: the
        token is for this client (aud), from this provider (iss), and not expired."""
        try:
            return jwt.decode(payload, key, algorithms=[self.OIDC_RP_SIGN_ALGO],
                              audience=self.OIDC_RP_CLIENT_ID, issuer=issuer(),
                              options={"require": ["exp", "aud", "sub"]}, leeway=60)
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"the ID token is refused: {exc}") from exc

    def get_or_create_user(self, access_token, id_token, payload):
        """The account with the address the provider vouches for, created at the first
        sign-in; refused (with the reason) for an address outside the allowed domains."""
        request = self.request
        claims = self.get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):
            raise refuse(request, "The sign-in provider described another person than "
                                  "the one who signed in.")
        email = str(claims.get("email") or "").strip()
        if "@" not in email:
            raise refuse(request, "The sign-in provider gave no email address, which "
                                  "Targetline needs to know who you are.")
        if claims.get("email_verified") is False:
            raise refuse(request, f"The sign-in provider has not verified {email}.")
        if not email_domain_allowed(email):
            domains = ", ".join(settings.OIDC_ALLOWED_EMAIL_DOMAINS)
            raise refuse(request, f"{email} may not sign in here: this server admits "
                                  f"addresses at {domains} only.")
        users = list(self.UserModel.objects.filter(email__iexact=email)[:2])
        if len(users) > 1:
            raise refuse(request, f"More than one account has the address {email}: an "
                                  "administrator must give it to one of them only.")
        user = users[0] if users else self._create_user(email=email, claims=claims)
        if not user.is_active:
            raise refuse(request, f"The account {user.username} is deactivated.")
        return user

    def _create_user(self, *, email: str, claims: dict):
        for _attempt in range(5):  # another first sign-in may take the name meanwhile
            try:
                with transaction.atomic():
                    return self.UserModel.objects.create_user(
                        unique_username({**claims, "email": email}), email=email,
                        first_name=str(claims.get("given_name") or "")[:150],
                        last_name=str(claims.get("family_name") or "")[:150])
            except IntegrityError:
                continue
        raise refuse(self.request, "No free username could be found for this account; "
                                   "try again.")
