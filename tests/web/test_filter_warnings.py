"""The runs table's filter box: a filter naming a metric, param or tag no run has still
runs, and a hint under the box says what was probably meant, with a link that fixes it."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from tests.web.data import SLUG


@pytest.mark.django_db
def test_a_misspelt_field_shows_a_hint_and_a_link_that_fixes_it(demo):
    client = Client()
    client.force_login(demo.olivia)
    url = reverse("web:runs", args=[SLUG])
    response = client.get(url, {"filter": 'validation.F1 > 0.8 and params.model = "logreg"',
                                "order_by": "-params.lrr"})

    assert response.status_code == 200 and response.context["total"] == 0
    warnings = response.context["warnings"]
    assert [w["message"] for w in warnings] == [
        "No run in this project has logged F1 on validation; did you mean validation.f1?",
        "No run in this project has a param named lrr; did you mean params.lr?"]
    fixed = parse_qs(urlsplit(warnings[0]["fix_url"]).query)
    assert fixed["filter"] == ['validation.f1 > 0.8 and params.model = "logreg"']
    assert parse_qs(urlsplit(warnings[1]["fix_url"]).query)["order_by"] == ["-params.lr"]
    html = response.content.decode()
    assert 'id="filter-warnings"' in html and "did you mean validation.f1?" in html
    assert client.get(url, {"filter": "validation.f1 > 0.8"}).context["warnings"] == []


def test_the_hint_sits_under_the_filter_box(page, live_server, demo, login, shoot):
    login("olivia")
    page.goto(f"{live_server.url}/p/{demo.slug}/runs/")
    page.fill("#filter", 'validation.F1 > 0.8 and params.modle = "logreg"')
    page.click("#filter-form button[type=submit]")

    hints = page.locator("#filter-warnings li")
    expect(hints).to_have_count(2)
    expect(hints.nth(0)).to_contain_text("did you mean validation.f1?")
    expect(hints.nth(1)).to_contain_text(
        "No run in this project has a param named modle; did you mean params.model?")
    expect(page.locator(".card.empty")).to_contain_text("No run matches this filter.")
    shoot(page, "runs-filter-warnings")
    hints.nth(0).locator("a").click()
    expect(page).to_have_url(re.compile(r"filter=validation\.f1"))
    expect(page.locator("#filter-warnings li")).to_have_count(1)
