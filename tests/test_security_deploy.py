"""The production settings docs/operations.md gives: `manage.py check --deploy` finds nothing,
the cookies are Secure and HttpOnly, and every answer carries the security headers, HSTS
included, the MLflow API's too."""

import importlib.util
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import make_run
from tracker.services import tokens as token_services

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = ROOT / "docs" / "operations.md"
HOST = "targetline.example.com"
HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def documented_environment() -> dict[str, str]:
    """The settings file of docs/operations.md (the block that starts `# /etc/targetline/env`),
    its SECRET_KEY made as it says."""
    text = OPERATIONS.read_text()
    block = re.search(r"```bash\n# /etc/targetline/env\n(.*?)```", text, re.S)
    assert block, "docs/operations.md has no /etc/targetline/env block"
    lines = dict(line.partition("=")[::2] for line in block.group(1).splitlines())
    assert lines.pop("SECRET_KEY") == (
        "<once, the output of: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'>")
    env = {name: " ".join(shlex.split(value)) for name, value in lines.items()}
    return {**env, "SECRET_KEY": secrets.token_urlsafe(50)}


def load_settings(env: dict[str, str]):
    """config/settings.py read afresh, as a process started with `env` reads it."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update({"PATH": saved.get("PATH", ""), **env})
    try:
        spec = importlib.util.spec_from_file_location("settings_under_test",
                                                      ROOT / "config" / "settings.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_check_deploy_finds_nothing_with_the_documented_settings(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "TARGETLINE_VAR_DIR": str(tmp_path),
           **documented_environment()}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy",
                             "--fail-level", "WARNING"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    # Silenced: security.W021, HSTS preloading, a decision for whoever owns the domain.
    assert result.stdout.strip() == "System check identified no issues (1 silenced)."


def test_without_https_the_quick_start_keeps_plain_cookies_and_no_hsts():
    plain = load_settings({})
    assert (plain.SESSION_COOKIE_SECURE, plain.CSRF_COOKIE_SECURE) == (False, False)
    assert (plain.SECURE_SSL_REDIRECT, plain.SECURE_HSTS_SECONDS) == (False, 0)
    assert plain.SECURE_PROXY_SSL_HEADER is None  # nobody's X-Forwarded-Proto is believed
    assert (plain.SESSION_COOKIE_HTTPONLY, plain.CSRF_COOKIE_HTTPONLY) == (True, True)


def test_the_defences_are_read_from_the_environment():
    tuned = load_settings({"LOGIN_FAILURE_LIMIT": "3", "LOGIN_LOCKOUT_SECONDS": "60",
                           "TOKEN_FAILURE_LIMIT": "5", "TOKEN_FAILURE_WINDOW": "30",
                           "PROXY_COUNT": "2", "CACHE_URL": "redis://cache:6379/2"})
    assert (tuned.AXES_FAILURE_LIMIT, tuned.AXES_COOLOFF_TIME.total_seconds()) == (3, 60)
    assert (tuned.TOKEN_FAILURE_LIMIT, tuned.TOKEN_FAILURE_WINDOW) == (5, 30)
    assert tuned.PROXY_COUNT == 2
    assert tuned.CACHES["default"]["LOCATION"] == "redis://cache:6379/2"
    assert load_settings({}).CACHES["default"]["BACKEND"] == (
        "django.core.cache.backends.db.DatabaseCache")
    with pytest.raises(Exception, match="CACHE_URL must be a redis:// URL"):
        load_settings({"CACHE_URL": "memcached://cache:11211"})
    with pytest.raises(Exception, match="LOGIN_FAILURE_LIMIT must be at least 1"):
        load_settings({"LOGIN_FAILURE_LIMIT": "0"})


SECURITY_SETTINGS = (
    "SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_HTTPONLY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "PROXY_COUNT")


@pytest.fixture
def production(settings):
    """The documented settings' HTTPS, cookie and host settings, on this test server."""
    documented = load_settings(documented_environment())
    for name in SECURITY_SETTINGS:
        setattr(settings, name, getattr(documented, name))
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


def browser(**extra) -> Client:
    """A client that goes through the TLS proxy: its request arrive with X-Forwarded-Proto."""
    return Client(HTTP_HOST=HOST, HTTP_X_FORWARDED_PROTO="https", **extra)


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_except_the_health_check(production):
    plain = Client(HTTP_HOST=HOST)
    answer = plain.get("/login/")
    assert (answer.status_code, answer["Location"]) == (301, f"https://{HOST}/login/")
    assert plain.get("/api/v1/").status_code == 200


@pytest.mark.django_db
def test_the_session_and_csrf_cookies_are_secure_and_http_only(production, make_user):
    user = make_user("olivia")
    user.set_password("a long enough password 1")
    user.save()
    client = browser(enforce_csrf_checks=True)
    page = client.get("/login/")
    csrf = client.cookies["csrftoken"]
    assert (csrf["secure"], csrf["httponly"], csrf["samesite"]) == (True, True, "Lax")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    answer = client.post("/login/", {"username": "olivia", "password": "a long enough password 1",
                                     "csrfmiddlewaretoken": token}, HTTP_ORIGIN=f"https://{HOST}")
    assert answer.status_code == 302
    session = client.cookies["sessionid"]
    assert (session["secure"], session["httponly"], session["samesite"]) == (True, True, "Lax")


@pytest.mark.django_db
def test_every_kind_of_answer_carries_the_security_headers(production, project, owner):
    run = make_run(project, owner, name="r1", finish=None)
    _, raw = token_services.create_token(user=owner)
    token = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    signed_in = browser()
    signed_in.force_login(owner)
    batch = json.dumps({"run_id": run.pk.hex, "metrics": [
        {"key": "loss", "value": 1.0, "timestamp": 1_700_000_000_000, "step": 0}]})
    answers = {
        "login page": browser().get("/login/"),
        "a page": signed_in.get(f"/p/{project.slug}/"),
        "a missing page": signed_in.get("/p/no-such-project/"),
        "a static file": browser().get("/static/web/app.css"),
        "the admin": browser().get("/admin/login/"),
        "v1": browser(**token).get(f"/api/v1/projects/{project.slug}/"),
        "v1 refused": browser(HTTP_AUTHORIZATION="Bearer tl_wrong").get("/api/v1/projects/"),
        "v1 docs": browser().get("/api/v1/docs/"),
        "mlflow": browser(**token).get("/api/2.0/mlflow/runs/get", {"run_id": run.pk.hex}),
        "mlflow logging": browser(**token).post("/api/2.0/mlflow/runs/log-batch", batch,
                                                content_type="application/json"),
        "mlflow refused": browser().get("/api/2.0/mlflow/experiments/search"),
        "mlflow unknown": browser(**token).get("/api/2.0/mlflow/no/such/thing"),
    }
    for what, answer in answers.items():
        assert answer.status_code < 500, what
        for name, value in HEADERS.items():
            assert answer.get(name) == value, f"{what}: {name} is {answer.get(name)!r}"
    assert [answers[w].status_code for w in ("v1 refused", "mlflow refused")] == [401, 401]
    assert answers["mlflow logging"].json() == {}
