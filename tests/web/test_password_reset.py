"""A forgotten password, reset by email over a real SMTP server (Django's views in our
layout). The sign-in page links to it; the throttling of sign-ins (django-axes) still
applies to the new password."""

import html
from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.web.mail import link_in, part

pytestmark = pytest.mark.django_db

OLD = "an old password 1"
NEW = "a brand new password 2"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def dana(make_user):
    user = make_user("dana")
    user.set_password(OLD)
    user.save()
    return user


def text(response) -> str:
    return html.unescape(response.content.decode())


def sign_in(password: str, username: str = "dana"):
    return Client().post("/login/", {"username": username, "password": password})


def test_a_forgotten_password_is_reset_by_email(dana, mailbox):
    browser = Client()
    login_page = text(browser.get("/login/"))
    assert '<a href="/password-reset/">Forgot password?</a>' in login_page

    asked = browser.post("/password-reset/", {"email": "dana@example.com"})

    assert (asked.status_code, asked["Location"]) == (302, "/password-reset/sent/")
    sent = browser.get(asked["Location"])
    assert "Check your email" in text(sent)
    assert sent["Content-Security-Policy"].startswith("default-src 'self'")
    (message,) = mailbox.messages
    assert message["To"] == "dana@example.com"
    assert message["Subject"] == "Choose a new Targetline password"
    assert "the Targetline account dana at testserver" in part(message, "text/plain")
    link = urlsplit(link_in(message, "/password-reset/")).path
    assert link in part(message, "text/html")

    opened = browser.get(link)  # Django swaps the token for a session and redirects
    form_url = opened["Location"]
    assert "Choose a new password" in text(browser.get(form_url))
    weak = browser.post(form_url, {"new_password1": "password", "new_password2": "password"})
    assert "This password is too common." in text(weak)
    saved = browser.post(form_url, {"new_password1": NEW, "new_password2": NEW})
    assert (saved.status_code, saved["Location"]) == (302, "/password-reset/done/")
    assert "Password saved" in text(browser.get("/password-reset/done/"))

    assert sign_in(OLD).status_code == 200  # the form again, with its error
    assert (sign_in(NEW).status_code, sign_in(NEW)["Location"]) == (302, "/")
    reused = Client().get(link, follow=True)
    assert "This link can no longer be used" in text(reused)


def test_an_unknown_address_is_answered_the_same_and_gets_no_email(dana, mailbox):
    asked = Client().post("/password-reset/", {"email": "nobody@example.com"})

    assert (asked.status_code, asked["Location"]) == (302, "/password-reset/sent/")
    assert mailbox.messages == []


def test_sign_in_throttling_still_applies_to_the_new_password(dana, mailbox):
    browser = Client()
    browser.post("/password-reset/", {"email": "dana@example.com"})
    opened = browser.get(urlsplit(link_in(mailbox.messages[0], "/password-reset/")).path)
    browser.post(opened["Location"], {"new_password1": NEW, "new_password2": NEW})

    statuses = [sign_in(f"guess {i}").status_code for i in range(10)]

    assert statuses == [200] * 9 + [429]
    assert sign_in(NEW).status_code == 429
