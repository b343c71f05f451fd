"""Single sign-on with OpenID Connect, end to end, against a real provider on loopback.

The provider (tests/oidc_provider.py: authlib behind werkzeug's HTTP server) runs in this
process; Targetline runs in gunicorn as scripts/run.sh starts it, configured by the
environment variables an operator sets, on pytest's database. A browser's way through is
followed with a cookie jar (requests) and once in Chromium: the sign-in page, the
provider, the callback, signed in.
"""

import html
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.urls import reverse
from playwright.sync_api import expect

from tests import gunicorn as gunicorn_server
from tests.oidc_provider import Provider
from tests.reports.test_worker import free_port
from web import sso

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_ID = "targetline"
CLIENT_SECRET = "a-client-secret-for-the-tests"
LOGIN_FAILURE_LIMIT = 3
ADA = {"sub": "ada-1815", "email": "ada@acme.test", "email_verified": True,
       "preferred_username": "ada", "given_name": "Ada", "family_name": "Lovelace",
       "name": "Ada Lovelace"}
User = get_user_model()


@pytest.fixture(scope="module")
def provider():
    provider = Provider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET).start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def server(django_db_setup, provider, tmp_path_factory):
    """gunicorn with single sign-on configured, on the test database."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://…)")
    url = urlsplit(os.environ["DATABASE_URL"])
    folder = tmp_path_factory.mktemp("sso")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
           "DATABASE_URL": urlunsplit(url._replace(path=f"/{db['NAME']}")),
           "SECRET_KEY": "single-sign-on-test", "TARGETLINE_VAR_DIR": str(folder / "var"),
           "PYTHONUNBUFFERED": "1",
           "OIDC_ISSUER": provider.issuer, "OIDC_CLIENT_ID": CLIENT_ID,
           "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_ALLOWED_EMAIL_DOMAINS": "acme.test",
           "OIDC_BUTTON_LABEL": "Acme ID",
           "LOGIN_FAILURE_LIMIT": str(LOGIN_FAILURE_LIMIT),
           "PROXY_COUNT": "1"}  # so that a test can speak from several addresses
    with (folder / "gunicorn.log").open("wb") as log:
        process, base = gunicorn_server.start(env, log, seconds=30)
        try:
            provider.client.redirect_uris = [f"{base}/oidc/callback/"]
            yield base
        finally:
            gunicorn_server.stop(process)


@pytest.fixture(autouse=True)
def person(provider):
    """Who is signed in at the provider: Ada, unless a test says otherwise."""
    provider.person = dict(ADA)
    provider.id_tokens = "honest"
    provider.requests.clear()


def browser(address: str = "10.0.0.1") -> requests.Session:
    session = requests.Session()
    session.headers["X-Forwarded-For"] = address
    return session


def sign_in(base: str, session: requests.Session | None = None,
            then: str = "/account/") -> tuple[requests.Session, requests.Response]:
    """Open the sign-in page and press the single sign-on button: the answer at the end of
    the redirects (provider, callback, the page asked for)."""
    session = session or browser()
    page = session.get(f"{base}/login/", params={"next": then}, timeout=30)
    assert page.status_code == 200
    [link] = re.findall(r'<a class="button sso-button" href="([^"]+)">Sign in with Acme ID</a>',
                        page.text)
    return session, session.get(base + html.unescape(link), timeout=30)


def signed_in_as(base: str, session: requests.Session) -> str | None:
    """The username the account page greets, or None when it asks to sign in."""
    answer = session.get(f"{base}/account/", allow_redirects=False, timeout=30)
    if answer.status_code == 302:
        assert answer.headers["Location"].startswith("/login/?next=")
        return None
    return re.search(r"<h1>Your account: (.+?)</h1>", answer.text).group(1)


def refusal(answer: requests.Response) -> str:
    assert "<h1>Sign-in refused</h1>" in answer.text
    return html.unescape(re.search(r'<p role="alert" class="sso-reason">(.*?)</p>',
                                   answer.text, re.S).group(1))


def test_the_first_sign_in_creates_the_account(server, provider):
    session, answer = sign_in(server)
    assert answer.status_code == 200
    assert answer.url == f"{server}/account/"  # back where the person was going
    assert [urlsplit(r.url).path for r in answer.history] == [
        "/oidc/authenticate/", "/authorize", "/oidc/callback/"]
    assert signed_in_as(server, session) == "ada"
    ada = User.objects.get(email="ada@acme.test")
    assert (ada.username, ada.first_name, ada.last_name) == ("ada", "Ada", "Lovelace")
    assert not ada.has_usable_password()
    # Discovery, then the code exchanged, the ID token's key fetched and the claims read.
    assert set(provider.requests) >= {"GET /.well-known/openid-configuration",
                                      "GET /authorize", "POST /token", "GET /jwks",
                                      "GET /userinfo"}


def test_a_later_sign_in_finds_the_account_by_its_address(server, provider):
    grace = User.objects.create_user("grace", email="Grace@Acme.test", password="x" * 20)
    provider.person = {**ADA, "sub": "grace-1906", "email": "grace@acme.test",
                       "preferred_username": "ghopper"}
    for _ in range(2):
        session, answer = sign_in(server)
        assert answer.status_code == 200
        assert signed_in_as(server, session) == "grace"
    assert list(User.objects.values_list("pk", flat=True)) == [grace.pk]


def test_a_taken_username_gets_a_number(server, provider):
    User.objects.create_user("ada", email="ada@elsewhere.test")
    session, answer = sign_in(server)
    assert answer.status_code == 200
    assert signed_in_as(server, session) == "ada-2"
    assert User.objects.get(email="ada@acme.test").username == "ada-2"


@pytest.mark.parametrize("claims, reason", [
    ({"email": "eve@gmail.test"},
     "eve@gmail.test may not sign in here: this server admits addresses at acme.test only."),
    ({"email": "eve@sub.acme.test"},
     "eve@sub.acme.test may not sign in here: this server admits addresses at acme.test only."),
    ({"email_verified": False}, "The sign-in provider has not verified ada@acme.test."),
], ids=["other domain", "subdomain", "unverified address"])
def test_a_person_the_server_does_not_admit_is_refused_and_no_account_made(
        server, provider, claims, reason):
    provider.person = {**ADA, **claims}
    session, answer = sign_in(server)
    assert answer.status_code == 403
    assert answer.url.startswith(f"{server}/oidc/callback/?")
    assert refusal(answer) == reason
    assert signed_in_as(server, session) is None
    assert not User.objects.exists()


def test_an_existing_account_outside_the_allowed_domains_is_refused_too(server, provider):
    User.objects.create_user("eve", email="eve@gmail.test", password="x" * 20)
    provider.person = {**ADA, "email": "eve@gmail.test"}
    session, answer = sign_in(server)
    assert answer.status_code == 403
    assert "may not sign in here" in refusal(answer)
    assert signed_in_as(server, session) is None


@pytest.mark.parametrize("mode, why", [
    ("tampered", "the ID token is refused: Signature verification failed"),
    ("foreign", "the ID token is refused: Signature verification failed"),
    ("unsigned", "the ID token is signed with 'none', not RS256"),
])
def test_an_id_token_not_signed_by_the_provider_is_refused(server, provider, mode, why):
    provider.id_tokens = mode
    session, answer = sign_in(server)
    assert answer.status_code == 403
    assert refusal(answer) == f"The sign-in provider's answer could not be verified ({why})."
    assert signed_in_as(server, session) is None
    assert not User.objects.exists()


def test_a_callback_this_browser_did_not_start_is_refused(server, provider):
    session, answer = sign_in(server)
    assert answer.status_code == 200
    callback = answer.history[-1].url  # its code and state, used once already
    replayed = browser().get(callback, timeout=30)  # another browser, no sign-in started
    assert replayed.status_code == 403
    assert "no sign-in in progress" in refusal(replayed)
    again = session.get(callback, timeout=30)  # the same browser: the state was used up
    assert again.status_code == 403
    assert "not started from this browser, or was already used" in refusal(again)


def test_a_person_who_declines_at_the_provider_is_told_so(server, provider):
    provider.person = {}
    session, answer = sign_in(server)
    assert answer.status_code == 403
    assert refusal(answer) == ("The sign-in provider did not sign you in: The resource owner "
                               "or authorization server denied the request.")
    assert signed_in_as(server, session) is None


def test_failed_sign_ins_lock_out_single_sign_on_from_that_address_only(server, provider):
    provider.id_tokens = "tampered"
    attacker = browser("10.0.0.66")
    for _ in range(LOGIN_FAILURE_LIMIT):
        _, answer = sign_in(server, attacker)
    assert answer.status_code == 429
    assert "Too many failed sign-ins" in answer.text
    provider.id_tokens = "honest"
    _, answer = sign_in(server, attacker)  # the right token now, from a locked-out address
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) > 0
    assert not User.objects.exists()
    # Counted by address: the same failures do not lock anybody else out.
    session, answer = sign_in(server, browser("10.0.0.7"))
    assert answer.status_code == 200
    assert signed_in_as(server, session) == "ada"


def test_failed_password_sign_ins_lock_out_single_sign_on_from_that_address(server):
    session = browser("10.0.0.9")
    for attempt in range(LOGIN_FAILURE_LIMIT):
        page = session.get(f"{server}/login/", timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = session.post(f"{server}/login/", timeout=30, data={
            "csrfmiddlewaretoken": token, "username": "nobody", "password": f"guess {attempt}"})
    assert answer.status_code == 429
    _, answer = sign_in(server, session)
    assert answer.status_code == 429
    assert "Too many failed sign-ins for this account or from this address" in answer.text
    assert signed_in_as(server, session) is None


def test_signing_in_with_the_button_in_a_real_browser(server, page, shoot):
    page.goto(f"{server}/account/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/account/$"))
    button = page.get_by_role("link", name="Sign in with Acme ID")
    expect(button).to_be_visible()
    shoot(page, "login-with-sso")
    button.click()
    expect(page).to_have_url(f"{server}/account/")
    expect(page.locator("h1")).to_have_text("Your account: ada")


def test_a_refusal_in_a_real_browser_says_why(server, provider, page, shoot):
    provider.person = {**ADA, "email": "ada@gmail.test"}
    page.goto(f"{server}/login/")
    page.get_by_role("link", name="Sign in with Acme ID").click()
    expect(page.locator("h1")).to_have_text("Sign-in refused")
    expect(page.get_by_role("alert")).to_have_text(
        "ada@gmail.test may not sign in here: this server admits addresses at acme.test only.")
    shoot(page, "sso-refused")
    page.get_by_role("link", name="Back to the sign-in page").click()
    expect(page).to_have_url(f"{server}/login/")


# --- without a running gunicorn: what the settings and the pages say ----------------------
def test_without_single_sign_on_nothing_changes(client):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert "Sign in with" not in page.content.decode()
    assert 'name="password"' in page.content.decode()
    for url in ("/oidc/authenticate/", "/oidc/callback/?code=x&state=y"):
        answer = client.get(url)
        assert answer.status_code == 404
        assert "Single sign-on is not configured on this server." in answer.content.decode()


def test_sso_url_names_are_pinned():
    assert reverse("oidc_authentication_init") == "/oidc/authenticate/"
    assert reverse("oidc_authentication_callback") == "/oidc/callback/"


def test_a_provider_that_cannot_be_reached_is_named(monkeypatch):
    monkeypatch.setattr(sso, "_discovered", {})
    issuer = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with override_settings(SSO_ENABLED=True, OIDC_ISSUER=issuer, OIDC_RP_CLIENT_ID=CLIENT_ID,
                           OIDC_RP_CLIENT_SECRET=CLIENT_SECRET):
        answer = Client().get("/oidc/authenticate/")
    assert answer.status_code == 503
    text = html.unescape(answer.content.decode())
    assert (f"The sign-in provider's settings could not be read from "
            f"{issuer}/.well-known/openid-configuration") in text
    assert "Try again later, or sign in with a password." in text


def test_the_four_endpoints_can_replace_discovery(provider, monkeypatch):
    """A provider without discovery: the endpoints are set one by one; nothing else is asked."""
    monkeypatch.setattr(sso, "_discovered", {})
    provider.client.redirect_uris = ["http://testserver/oidc/callback/"]
    issuer = provider.issuer
    browser = Client()
    with override_settings(
            SSO_ENABLED=True, OIDC_ISSUER="", OIDC_RP_CLIENT_ID=CLIENT_ID,
            OIDC_RP_CLIENT_SECRET=CLIENT_SECRET, OIDC_ALLOWED_EMAIL_DOMAINS=[],
            OIDC_OP_AUTHORIZATION_ENDPOINT=f"{issuer}/authorize",
            OIDC_OP_TOKEN_ENDPOINT=f"{issuer}/token", OIDC_OP_USER_ENDPOINT=f"{issuer}/userinfo",
            OIDC_OP_JWKS_ENDPOINT=f"{issuer}/jwks",
            AUTHENTICATION_BACKENDS=[*settings.AUTHENTICATION_BACKENDS, "web.sso.SsoBackend"]):
        start = browser.get("/oidc/authenticate/?next=/account/")
        assert start.status_code == 302
        assert start["Location"].startswith(f"{issuer}/authorize?")
        at_provider = requests.get(start["Location"], allow_redirects=False, timeout=30)
        back = urlsplit(at_provider.headers["Location"])
        assert back.netloc == "testserver"
        done = browser.get(f"{back.path}?{back.query}")
        assert (done.status_code, done["Location"]) == (302, "/account/")
        assert browser.get("/account/").context["user"].email == "ada@acme.test"
    assert "GET /.well-known/openid-configuration" not in provider.requests


@pytest.mark.parametrize("env, message", [
    ({"OIDC_CLIENT_ID": "x"}, "OIDC_CLIENT_SECRET must be set with OIDC_CLIENT_ID"),
    ({"OIDC_CLIENT_ID": "x", "OIDC_CLIENT_SECRET": "y",
      "OIDC_OP_TOKEN_ENDPOINT": "https://id.example/token"},
     "single sign-on needs OIDC_ISSUER (its endpoints are discovered), or else "
     "OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_USER_ENDPOINT, OIDC_OP_JWKS_ENDPOINT"),
    ({"OIDC_ISSUER": "https://id.example"},
     "single sign-on is configured but OIDC_CLIENT_ID is not set"),
], ids=["no secret", "endpoints missing", "no client"])
def test_an_incomplete_configuration_stops_the_server(env, message):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_")}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=gunicorn_server.ROOT, env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings",
                       "SECRET_KEY": "x", **env},
        capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message}" in result.stderr
