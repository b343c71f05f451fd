"""Invitations in a real browser (Playwright and Debian's Chromium against a live server),
with the email going through a real SMTP server: the owner invites from the settings page,
the manager follows the link in another browser, chooses a password and lands on the
project as a viewer."""

import re

from playwright.sync_api import expect

from tests.web.mail import link_in
from tracker.models import Membership


def test_an_owner_invites_a_manager_who_joins_from_the_email(page, browser, live_server,
                                                             demo, login, shoot, mailbox):
    login("olivia")
    page.goto(f"{live_server.url}/p/{demo.slug}/settings/")
    page.fill("#id_invite-email", "dana@example.com")
    page.select_option("#id_invite-role", "viewer")
    page.click("text=Send invitation")
    expect(page.locator(".messages")).to_contain_text("Invitation sent to dana@example.com.")
    pending = page.locator("table[aria-labelledby=invitations-title] tbody tr")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("dana@example.com")
    page.locator("#invitations-title").scroll_into_view_if_needed()
    shoot(page, "invite")

    (message,) = mailbox.messages
    link = link_in(message, "/invitations/")
    assert link.startswith(live_server.url)
    manager = browser.new_context(viewport={"width": 1366, "height": 850}).new_page()
    manager.goto(link)
    expect(manager.locator("h1")).to_have_text("Join Support ticket routing")
    shoot(manager, "invitation-accept")
    manager.fill("#id_username", "dana")
    manager.fill("#id_password", "a long enough password 9")
    manager.fill("#id_password_again", "a long enough password 9")
    manager.click("text=Create my account and join")

    expect(manager).to_have_url(re.compile(rf"/p/{demo.slug}/$"))
    expect(manager.locator(".badge-role")).to_have_text("viewer")
    expect(manager.locator(".messages")).to_contain_text("you joined as a viewer")
    assert Membership.objects.get(project=demo.project, user__username="dana").role == "viewer"
    manager.goto(link)
    expect(manager.locator("h1")).to_have_text("This invitation can no longer be used")
    shoot(manager, "invitation-used")
    manager.context.close()


def test_staff_see_the_read_only_banner(page, live_server, demo, make_user, shoot):
    sam = make_user("sam", is_staff=True)
    sam.set_password("a long enough password 1")
    sam.save()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "a long enough password 1")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/p/{demo.slug}/")

    banner = page.locator(".staff-banner")
    expect(banner).to_contain_text("Read-only: you see this project as staff.")
    shoot(page, "staff-banner")
    page.select_option("#staff-join-role", "owner")
    page.click(".staff-banner button[type=submit]")
    expect(page.locator(".badge-role")).to_have_text("owner")
    expect(page.locator(".staff-banner")).to_have_count(0)


def test_forgot_password_from_the_login_page(page, live_server, demo, shoot, mailbox):
    page.goto(f"{live_server.url}/login/")
    page.click("text=Forgot password?")
    expect(page.locator("h1")).to_have_text("Forgot your password?")
    page.fill("#id_email", "victor@example.com")
    shoot(page, "password-reset")
    page.click("text=Send the link")

    expect(page.locator("h1")).to_have_text("Check your email")
    (message,) = mailbox.messages
    page.goto(link_in(message, "/password-reset/"))
    page.fill("#id_new_password1", "a brand new password 7")
    page.fill("#id_new_password2", "a brand new password 7")
    shoot(page, "password-reset-confirm")
    page.click("text=Save the password")
    expect(page.locator("h1")).to_have_text("Password saved")
    page.click("a.button")
    page.fill("#id_username", "victor")
    page.fill("#id_password", "a brand new password 7")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/")
