"""Fixtures for the web UI tests: people in every role, the demo project, and Playwright
driving Debian's Chromium (see ../shared/MACHINE.md) against pytest-django's live server."""

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from reports import tasks as report_tasks
from tests.web.data import seed_project
from tests.web.mail import mailbox, smtp  # noqa: F401 -- a real SMTP server's fixtures
from tracker.services import projects as project_services

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it (fixtures, assertions on the database) are ordinary blocking calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "a long enough password 1"
LAPTOP = {"width": 1366, "height": 850}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": LAPTOP}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Four users log in per test: the default PBKDF2 rounds would take most of the time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_report_tasks(monkeypatch):
    """Finishing a run queues the reports' alert check once the transaction commits, which
    with a live server (real commits) would fill the Celery queue under var/ with tasks
    about test projects. These tests are about the web UI, so nothing is queued."""
    monkeypatch.setattr(report_tasks, "enqueue_task", lambda *args, **kwargs: None)


@pytest.fixture
def people(make_user):
    """olivia owns the project, mia is a member, victor a viewer, oscar an outsider."""
    users = {}
    for name in ("olivia", "mia", "victor", "oscar"):
        user = make_user(name)
        user.set_password(PASSWORD)
        user.save()
        users[name] = user
    return SimpleNamespace(**users)


def _project(people, runs: int):
    project, made = seed_project(people.olivia, runs=runs)
    project_services.set_member(project=project, username="mia", role="member")
    project_services.set_member(project=project, username="victor", role="viewer")
    return SimpleNamespace(project=project, runs=made, slug=project.slug, **vars(people))


@pytest.fixture
def demo(people):
    """The demo project with 16 runs."""
    return _project(people, runs=16)


@pytest.fixture
def demo50(people):
    """The demo project with 50 runs."""
    return _project(people, runs=50)


@pytest.fixture
def login(page, live_server):
    """Log `username` in through the login page; returns the page."""
    def log_in(username: str):
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page
    return log_in


@pytest.fixture
def shoot():
    """Write a full-page screenshot to test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str):
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    return take
