"""Failed sign-ins (/login/ and the admin's) are counted per account and per client address
(django-axes, in the database); from the limit on, every sign-in of that account or from that
address is refused with 429 and Retry-After, the right password too, until the lock-out time
has passed without a failure."""

import pytest
import time_machine
from django.test import Client

PASSWORD = "a long enough password 1"
LIMIT = 10  # LOGIN_FAILURE_LIMIT's default
LOCKOUT = 900  # LOGIN_LOCKOUT_SECONDS's default

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def olivia(make_user):
    user = make_user("olivia", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def clock():
    with time_machine.travel("2026-12-07 12:00:00+00:00", tick=False) as traveller:
        yield traveller


def sign_in(username: str, password: str, *, address: str = "127.0.0.1", path="/login/"):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


def test_the_tenth_wrong_password_locks_the_account_out_for_15_minutes(olivia, clock):
    answers = [sign_in("olivia", f"guess {i}") for i in range(LIMIT)]
    assert [a.status_code for a in answers] == [200] * (LIMIT - 1) + [429]
    assert "Please enter a correct username and password" in answers[0].content.decode()
    refused = answers[-1]
    assert refused["Retry-After"] == str(LOCKOUT)
    assert ("Too many failed sign-ins for this account or from this address. "
            "Try again in 15 minutes.") in refused.content.decode()
    assert refused["Content-Security-Policy"].startswith("default-src 'self'")
    # The right password is refused too, and restarts the wait.
    clock.shift(LOCKOUT - 1)
    assert sign_in("olivia", PASSWORD).status_code == 429
    clock.shift(LOCKOUT - 1)
    assert sign_in("olivia", PASSWORD).status_code == 429
    clock.shift(LOCKOUT + 1)
    signed_in = sign_in("olivia", PASSWORD)
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/")


def test_an_account_is_locked_whatever_the_address(olivia):
    statuses = [sign_in("olivia", "guess", address=f"198.51.100.{i}").status_code
                for i in range(LIMIT)]
    assert statuses == [200] * (LIMIT - 1) + [429]
    assert sign_in("olivia", PASSWORD, address="203.0.113.50").status_code == 429


def test_an_address_is_locked_whatever_the_account(olivia, make_user):
    make_user("mia").set_password(PASSWORD)
    statuses = [sign_in(f"user-{i}", "guess", address="198.51.100.7").status_code
                for i in range(LIMIT)]
    assert statuses == [200] * (LIMIT - 1) + [429]
    assert sign_in("olivia", PASSWORD, address="198.51.100.7").status_code == 429
    # Olivia from elsewhere is not.
    assert sign_in("olivia", PASSWORD, address="203.0.113.50").status_code == 302


def test_the_admin_sign_in_is_counted_with_the_same_limit(olivia):
    answers = [sign_in("olivia", "guess", path="/admin/login/") for _ in range(LIMIT - 1)]
    assert {a.status_code for a in answers} == {200}
    assert sign_in("olivia", PASSWORD).status_code == 302  # not locked yet: one failure left
    assert sign_in("olivia", "guess", path="/admin/login/").status_code == 429
    assert sign_in("olivia", PASSWORD).status_code == 429


def test_the_limit_and_the_lock_out_time_are_settings(olivia, clock, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = settings.AXES_COOLOFF_TIME / 15  # one minute
    statuses = [sign_in("olivia", "guess").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = sign_in("olivia", PASSWORD)
    assert refused["Retry-After"] == "60"
    assert "Try again in 1 minute." in refused.content.decode()
    clock.shift(61)
    assert sign_in("olivia", PASSWORD).status_code == 302


def test_the_log_says_which_account_is_locked_out_from_where(olivia, caplog):
    for _ in range(LIMIT):
        sign_in("olivia", "a guessed password", address="198.51.100.7")
    [lockout] = [r.getMessage() for r in caplog.records if "Locking out" in r.getMessage()]
    assert 'username: "olivia", ip_address: "198.51.100.7"' in lockout
    assert "a guessed password" not in caplog.text
