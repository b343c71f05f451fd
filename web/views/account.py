"""Signing in and out, and the signed-in user's API tokens."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from tracker.errors import NotFound
from tracker.models import ApiToken
from tracker.services import tokens as token_services
from web import forms
from web.permissions import client_address, page, with_csp

_login = auth_views.LoginView.as_view(template_name="web/login.html",
                                      redirect_authenticated_user=True)


def login_view(request, *args, **kwargs):
    """Django's login page in our layout, with the same Content-Security-Policy."""
    return with_csp(_login(request, *args, **kwargs))


logout_view = auth_views.LogoutView.as_view()


@page
@require_http_methods(["GET", "POST"])
def account(request):
    """The signed-in user's API tokens: the list, and a new one (shown once)."""
    form = forms.TokenForm(request.POST if request.method == "POST" else None)
    new_token = None
    if form.is_valid():
        token, raw = token_services.create_token(user=request.user, name=form.cleaned_data["name"],
                                                 address=client_address(request))
        new_token = {"token": token, "raw": raw}
        form = forms.TokenForm()
    tokens = ApiToken.objects.filter(user=request.user).order_by("revoked_at", "-created_at")
    response = render(request, "web/account.html", {
        "form": form, "tokens": tokens, "new_token": new_token,
        "api_url": request.build_absolute_uri("/api/v1/"),
    })
    if new_token:
        response["Cache-Control"] = "no-store"  # the raw token is on this page, once
    return response


@page
@require_POST
def revoke_token(request, token_id):
    """Revoke one of the user's API tokens (another user's token is not found)."""
    token = ApiToken.objects.filter(user=request.user, pk=token_id).first()
    if token is None:
        raise NotFound("no such token")
    token_services.revoke_token(token=token, address=client_address(request))
    messages.success(request, f"Token {token.prefix}… revoked.")
    return redirect("web:account")


# Forgotten passwords: Django's views, in our layout. The email goes to every active account
# with that address and a password; the page says the same whether there is one or not.
_RESET = "web/password_reset"
password_reset = auth_views.PasswordResetView.as_view(
    template_name=f"{_RESET}_form.html", email_template_name=f"{_RESET}_email.txt",
    html_email_template_name=f"{_RESET}_email.html",
    subject_template_name=f"{_RESET}_subject.txt",
    success_url=reverse_lazy("web:password-reset-sent"))
password_reset_sent = auth_views.PasswordResetDoneView.as_view(
    template_name=f"{_RESET}_sent.html")
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name=f"{_RESET}_confirm.html", success_url=reverse_lazy("web:password-reset-done"))
password_reset_done = auth_views.PasswordResetCompleteView.as_view(
    template_name=f"{_RESET}_done.html")


def with_policy(view):
    """A view answered with our Content-Security-Policy."""
    def wrapper(request, *args, **kwargs):
        return with_csp(view(request, *args, **kwargs))
    return wrapper
