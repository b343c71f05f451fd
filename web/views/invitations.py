"""An invitation's page, opened from its emailed link: join the project signed in, or choose
a username and password first (or sign in with an existing account, then join).

The link is the credential: the pages answer anyone who holds it, signed in or not. A link
never sent is "not valid" (404); a used, revoked or expired one says so (410) and joins
nobody.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tracker.errors import TargetlineError
from tracker.permissions import ROLE_WORDS
from tracker.selectors.invitations import invitation_by_token
from tracker.services import invitations as invitation_services
from web import forms
from web.permissions import client_address, with_csp

# The account just created signs in without its password being asked again.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _not_usable(request, invitation):
    """The page for a link that does not (or no longer) work, or None when it does."""
    if invitation is None:
        return render(request, "web/invitation_gone.html", {
            "title": "This invitation link is not valid",
            "message": "Check that the whole address from the email was opened; a link "
                       "cut short does not work. Otherwise ask the project's owners for a "
                       "new invitation."}, status=404)
    reason = invitation_services.unusable_reason(invitation)
    if reason:
        return render(request, "web/invitation_gone.html", {
            "title": "This invitation can no longer be used", "message": reason}, status=410)
    return None


def _page(request, invitation, token, *, account_form=None, status=200):
    return render(request, "web/invitation.html", {
        "invitation": invitation, "token": token,
        "inviter": invitation_services.inviter_name(invitation),
        "role_words": ROLE_WORDS[invitation.role],
        "account_form": account_form or forms.NewAccountForm(),
        "login_url": f"{reverse('login')}?next={reverse('web:invitation', args=[token])}",
    }, status=status)


def _joined(request, invitation):
    project = invitation.project
    messages.success(request, f"Welcome to {project.name}: you joined as a {invitation.role}.")
    return redirect("web:dashboard", slug=project.slug)


@require_GET
def invitation(request, token):
    """What the invitation is for, and the way to accept it."""
    found = invitation_by_token(token=token)
    response = _not_usable(request, found) or _page(request, found, token)
    response["Cache-Control"] = "no-store"
    # The token is in this page's address: never sent to another site. (no-referrer would
    # make the browser send "Origin: null" with the page's forms, which CSRF refuses.)
    response["Referrer-Policy"] = "same-origin"
    return with_csp(response)


@require_POST
def accept(request, token):
    """The signed-in user joins the project with the invitation's role."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("web:invitation", args=[token]))
    found = invitation_by_token(token=token)
    refused = _not_usable(request, found)
    if refused:
        return with_csp(refused)
    try:
        invitation_services.accept(invitation=found, user=request.user,
                                   address=client_address(request))
    except TargetlineError:  # used or revoked a moment ago
        found.refresh_from_db()
        return with_csp(_not_usable(request, found) or redirect("web:invitation", token))
    return _joined(request, found)


@require_POST
def sign_up(request, token):
    """Create an account with the chosen username and password, join, and sign in."""
    found = invitation_by_token(token=token)
    refused = _not_usable(request, found)
    if refused:
        return with_csp(refused)
    if request.user.is_authenticated:  # signed in meanwhile: the page offers to join
        return redirect("web:invitation", token)
    form = forms.NewAccountForm(request.POST)
    if form.is_valid():
        try:
            membership = invitation_services.accept_with_new_account(
                invitation=found, username=form.cleaned_data["username"],
                password=form.cleaned_data["password"], address=client_address(request))
        except TargetlineError as exc:
            found.refresh_from_db()
            gone = _not_usable(request, found)
            if gone:
                return with_csp(gone)
            forms.add_domain_error(form, exc)
        else:
            login(request, membership.user, backend=MODEL_BACKEND)
            return _joined(request, found)
    return with_csp(_page(request, found, token, account_form=form, status=400))
