"""Invitations end to end, over a real SMTP server: an owner invites an address, the email
arrives with its link, the person follows it, chooses a username and password (or signs in)
and reads the project in the role they were invited with. Links that are used, expired or
revoked join nobody."""

import html
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tests.web.mail import link_in, part
from tracker.models import AuditAction, AuditEntry, Invitation, Membership
from tracker.models.tokens import hash_token

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough password 1"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def invite(api, email="dana@example.com", role="viewer", slug="news-topics"):
    return api.post(f"/api/v1/projects/{slug}/invitations/", {"email": email, "role": role},
                    format="json")


def text(response) -> str:
    """The page as a person reads its words (entities decoded)."""
    return html.unescape(response.content.decode())


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_an_invited_manager_sets_a_password_logs_in_and_reads_the_project_as_viewer(
        api, project, mailbox):
    answer = invite(api)

    assert answer.status_code == 201, answer.json()
    assert answer.json()["email"] == "dana@example.com"
    assert answer.json()["status"] == "pending"
    (message,) = mailbox.messages
    assert message["To"] == "dana@example.com"
    assert message["From"] == "Targetline <targetline@localhost>"
    assert message["Subject"] == "olivia invited you to News topics on Targetline"
    body = part(message, "text/plain")
    assert body.startswith("olivia invited you to join News topics on Targetline as a viewer: "
                           "you will be able to read its dashboard, runs, models and reports.")
    link = link_in(message, "/invitations/")
    assert link in part(message, "text/html")
    token = path_of(link).split("/")[2]
    assert not Invitation.objects.filter(token_hash=token).exists()  # only its hash is kept
    assert Invitation.objects.get(token_hash=hash_token(token)).email == "dana@example.com"

    browser = Client()
    page = browser.get(path_of(link))
    assert page.status_code == 200
    assert "Join News topics" in text(page)
    assert page["Cache-Control"] == "no-store"
    # A weak password is refused by Django's validators; nothing is created.
    weak = browser.post(f"{path_of(link)}sign-up/", {
        "username": "dana", "password": "password", "password_again": "password"})
    assert weak.status_code == 400
    assert "This password is too common." in text(weak)
    assert not get_user_model().objects.filter(username="dana").exists()
    joined = browser.post(f"{path_of(link)}sign-up/", {
        "username": "dana", "password": PASSWORD, "password_again": PASSWORD})
    assert joined.status_code == 302
    assert joined["Location"] == "/p/news-topics/"

    # Another day, another browser: she logs in with the password she chose.
    later = Client()
    signed_in = later.post("/login/", {"username": "dana", "password": PASSWORD})
    assert signed_in.status_code == 302
    dashboard = later.get("/p/news-topics/")
    assert dashboard.status_code == 200
    assert '<span class="badge badge-role" title="your role in this project">viewer</span>' \
        in text(dashboard)
    dana = get_user_model().objects.get(username="dana")
    assert dana.email == "dana@example.com"
    assert Membership.objects.get(project=project, user=dana).role == "viewer"
    assert later.post("/p/news-topics/settings/target/", {"metric": "f1"}).status_code == 403
    actions = list(AuditEntry.objects.filter(project=project).values_list("action", "username"))
    assert (AuditAction.INVITATION_CREATE, "olivia") in actions
    assert (AuditAction.INVITATION_ACCEPT, "dana") in actions
    assert invite(api).json()["status"] == "pending"  # invited again: a new link


def test_a_used_link_joins_nobody_else(api, project, mailbox, make_user):
    invite(api)
    link = path_of(link_in(mailbox.messages[0], "/invitations/"))
    first = Client()
    first.post(f"{link}sign-up/", {"username": "dana", "password": PASSWORD,
                                   "password_again": PASSWORD})
    mallory = make_user("mallory")
    other = Client()
    other.force_login(mallory)

    page = other.get(link)
    accepted = other.post(f"{link}accept/")
    signed_up = Client().post(f"{link}sign-up/", {"username": "eve", "password": PASSWORD,
                                                  "password_again": PASSWORD})

    assert page.status_code == accepted.status_code == signed_up.status_code == 410
    assert "This invitation has already been used" in text(page)
    assert not Membership.objects.filter(project=project, user=mallory).exists()
    assert not get_user_model().objects.filter(username="eve").exists()


def test_an_expired_link_says_so_and_joins_nobody(api, project, mailbox, make_user, settings):
    settings.INVITATION_DAYS = 7
    invite(api)
    link = path_of(link_in(mailbox.messages[0], "/invitations/"))
    invitation = Invitation.objects.get()
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    dana = make_user("dana")
    browser = Client()
    browser.force_login(dana)

    page = browser.get(link)
    accepted = browser.post(f"{link}accept/")

    assert page.status_code == accepted.status_code == 410
    assert "This invitation has expired (a link works for 7 days)." in text(page)
    assert not Membership.objects.filter(project=project, user=dana).exists()
    assert api.get("/api/v1/projects/news-topics/invitations/").json()["results"] == []


def test_a_revoked_link_says_so_and_joins_nobody(api, project, mailbox):
    created = invite(api).json()
    link = path_of(link_in(mailbox.messages[0], "/invitations/"))
    listed = api.get("/api/v1/projects/news-topics/invitations/").json()["results"]
    assert [i["id"] for i in listed] == [created["id"]]

    revoked = api.delete(f"/api/v1/projects/news-topics/invitations/{created['id']}")

    assert revoked.status_code == 204
    assert api.get("/api/v1/projects/news-topics/invitations/").json()["results"] == []
    browser = Client()
    page = browser.get(link)
    signed_up = browser.post(f"{link}sign-up/", {"username": "dana", "password": PASSWORD,
                                                 "password_again": PASSWORD})
    assert page.status_code == signed_up.status_code == 410
    assert "This invitation was withdrawn by the project's owners." in text(page)
    assert not get_user_model().objects.filter(username="dana").exists()
    assert AuditEntry.objects.filter(action=AuditAction.INVITATION_REVOKE,
                                     subject="dana@example.com as viewer").exists()
    assert api.delete(f"/api/v1/projects/news-topics/invitations/{created['id']}"
                      ).status_code == 204  # again: nothing changes
    assert api.delete("/api/v1/projects/news-topics/invitations/99999").status_code == 404


def test_a_link_never_sent_is_not_valid():
    page = Client().get("/invitations/not-a-token-we-sent/")

    assert page.status_code == 404
    assert "This invitation link is not valid" in text(page)


def test_someone_with_an_account_logs_in_from_the_link_then_joins(api, project, mailbox,
                                                                   make_user):
    dana = make_user("dana")
    dana.set_password(PASSWORD)
    dana.save()
    invite(api, email="dana.work@example.com", role="member")
    link = path_of(link_in(mailbox.messages[0], "/invitations/"))
    browser = Client()

    page = text(browser.get(link))
    assert f'href="/login/?next={link}"' in page
    signed_in = browser.post("/login/", {"username": "dana", "password": PASSWORD,
                                         "next": link})
    assert signed_in["Location"] == link
    assert "Join as dana" in text(browser.get(link))
    joined = browser.post(f"{link}accept/")

    assert joined.status_code == 302 and joined["Location"] == "/p/news-topics/"
    assert Membership.objects.get(project=project, user=dana).role == "member"
    dana.refresh_from_db()
    assert dana.email == "dana@example.com"  # their account's address stays as it was


def test_a_member_invited_again_keeps_the_higher_role(api, project, mailbox, make_user):
    mia = make_user("mia")
    Membership.objects.create(project=project, user=mia, role="member")
    invite(api, email="mia@example.com", role="viewer")
    browser = Client()
    browser.force_login(mia)

    browser.post(f"{path_of(link_in(mailbox.messages[0], '/invitations/'))}accept/")

    assert Membership.objects.get(project=project, user=mia).role == "member"


def test_inviting_again_replaces_the_pending_link(api, project, mailbox):
    invite(api)
    invite(api, role="member")

    first, second = (path_of(link_in(m, "/invitations/")) for m in mailbox.messages)
    assert Client().get(first).status_code == 410
    assert "as a <strong>member</strong>" in text(Client().get(second))
    assert [i["role"] for i in api.get("/api/v1/projects/news-topics/invitations/")
            .json()["results"]] == ["member"]


def test_the_answer_does_not_say_whether_an_address_has_an_account(api, project, mailbox,
                                                                   make_user):
    make_user("dana")  # dana@example.com has an account; nobody@example.com has none

    answers = [invite(api, email=email).json() for email in ("dana@example.com",
                                                             "nobody@example.com")]

    assert [sorted(a) for a in answers] == [sorted(answers[0])] * 2
    assert [a["status"] for a in answers] == ["pending", "pending"]
    bodies = [part(m, "text/plain").replace(link_in(m, "/invitations/"), "LINK")
              for m in mailbox.messages]
    assert bodies[0] == bodies[1]


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "not an address", "role": "viewer"}, "email"),
    ({"email": "dana@example.com", "role": "admin"}, "role"),
    ({"role": "viewer"}, "email"),
])
def test_a_bad_invitation_is_a_400_naming_the_field(api, project, mailbox, body, field):
    answer = api.post("/api/v1/projects/news-topics/invitations/", body, format="json")

    assert answer.status_code == 400
    assert answer.json()["field"] == field
    assert not Invitation.objects.exists() and not mailbox.messages


def test_when_the_mail_server_is_down_nothing_is_saved(api, project, settings, smtp):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port  # not started

    answer = invite(api)

    assert answer.status_code == 503
    assert answer.json() == {"error": "the invitation email could not be sent (the mail "
                             "server did not take it); nothing was saved: try again later",
                             "field": "email"}
    assert not Invitation.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditAction.INVITATION_CREATE).exists()


def test_owners_invite_and_revoke_on_the_settings_page(project, owner, mailbox):
    browser = Client()
    browser.force_login(owner)

    sent = browser.post("/p/news-topics/settings/invitations/", {
        "invite-email": "dana@example.com", "invite-role": "member"}, follow=True)

    page = text(sent)
    assert "Invitation sent to dana@example.com." in page
    assert "dana@example.com" in page and "Revoke" in page
    assert len(mailbox.messages) == 1
    refused = browser.post("/p/news-topics/settings/invitations/", {
        "invite-email": "dana", "invite-role": "member"})
    assert refused.status_code == 400
    assert "'dana' is not an email address" in text(refused)
    invitation = Invitation.objects.get()
    revoked = browser.post("/p/news-topics/settings/invitations/revoke/",
                           {"invitation": invitation.pk}, follow=True)
    assert "Invitation to dana@example.com revoked." in text(revoked)
    assert "No pending invitations." in text(revoked)
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_viewers_do_not_see_the_invitation_form(project, make_user):
    from tracker.services import projects as project_services

    victor = make_user("victor")
    project_services.set_member(project=project, username="victor", role="viewer")
    browser = Client()
    browser.force_login(victor)

    page = text(browser.get("/p/news-topics/settings/"))

    assert "Invite by email" not in page


def test_superusers_read_invitations_in_the_django_admin(api, project, mailbox, admin_client):
    invite(api)

    page = admin_client.get("/admin/tracker/invitation/")

    assert page.status_code == 200
    assert "dana@example.com" in text(page)
    assert admin_client.get("/admin/tracker/invitation/add/").status_code == 403


def test_a_taken_username_is_refused_under_its_field(api, project, mailbox, make_user):
    make_user("Dana")
    invite(api)
    link = path_of(link_in(mailbox.messages[0], "/invitations/"))

    refused = Client().post(f"{link}sign-up/", {"username": "dana", "password": PASSWORD,
                                                "password_again": PASSWORD})
    differ = Client().post(f"{link}sign-up/", {"username": "dana2", "password": PASSWORD,
                                               "password_again": PASSWORD + "x"})

    assert refused.status_code == differ.status_code == 400
    assert "the username 'dana' is taken: choose another" in text(refused)
    assert "The two passwords differ." in text(differ)
    assert Invitation.objects.get().status == "pending"


def test_a_link_to_a_project_in_the_trash_joins_nobody(api, project, mailbox, make_user):
    invite(api)
    link = path_of(link_in(mailbox.messages[0], "/invitations/"))
    api.delete("/api/v1/projects/news-topics/")
    dana = make_user("dana")
    browser = Client()
    browser.force_login(dana)

    page = browser.get(link)
    accepted = browser.post(f"{link}accept/")

    assert page.status_code == accepted.status_code == 410
    assert "The project this invitation is for has been deleted." in text(page)
    assert not Membership.objects.filter(user=dana).exists()
