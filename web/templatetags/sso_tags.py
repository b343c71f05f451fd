"""The sign-in page's single sign-on button, shown only when single sign-on is configured."""

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.http import urlencode

from web import sso

register = template.Library()


@register.inclusion_tag("web/_sso_button.html")
def sso_button(next_url: str = "") -> dict:
    """"Sign in with <OIDC_BUTTON_LABEL>", to the provider and back to `next_url`."""
    if not sso.enabled():
        return {"url": None}
    url = reverse("oidc_authentication_init")
    if next_url:
        url += "?" + urlencode({"next": next_url})
    return {"url": url, "label": settings.OIDC_BUTTON_LABEL}
