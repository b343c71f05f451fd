"""Members: add, change a role, remove; a project always keeps an owner."""

import pytest

from tests.api.answers import error_body

P = "/api/v1/projects/news-topics"


def _members(api):
    return {m["username"]: m["role"] for m in api.get(f"{P}/members/").json()["results"]}


def test_add_change_and_remove_a_member(api, project, make_user, client_for):
    kim = client_for(make_user("kim"))
    assert kim.get(f"{P}/").status_code == 404

    added = api.post(f"{P}/members/", {"username": "kim", "role": "viewer"}, format="json")
    assert added.status_code == 201
    assert (added.json()["username"], added.json()["role"]) == ("kim", "viewer")
    assert kim.get(f"{P}/").json()["role"] == "viewer"

    changed = api.patch(f"{P}/members/kim", {"role": "member"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["role"] == "member"
    assert _members(api) == {"kim": "member", "olivia": "owner"}

    again = api.post(f"{P}/members/", {"username": "kim", "role": "owner"}, format="json")
    assert again.status_code == 200  # an existing member: a role change, not a new member
    assert _members(api)["kim"] == "owner"

    assert api.delete(f"{P}/members/kim").status_code == 204
    assert _members(api) == {"olivia": "owner"}
    assert kim.get(f"{P}/").status_code == 404


def test_the_last_owner_cannot_be_removed(api, project):
    response = api.delete(f"{P}/members/olivia")

    assert "at least one owner" in error_body(response, 409, "role")["error"]
    assert _members(api) == {"olivia": "owner"}


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_the_last_owner_cannot_be_demoted(api, project, role):
    by_patch = api.patch(f"{P}/members/olivia", {"role": role}, format="json")
    by_post = api.post(f"{P}/members/", {"username": "olivia", "role": role}, format="json")

    error_body(by_patch, 409, "role")
    error_body(by_post, 409, "role")
    assert _members(api) == {"olivia": "owner"}


def test_an_owner_can_step_down_once_there_is_another(api, project, make_user):
    make_user("dana")
    api.post(f"{P}/members/", {"username": "dana", "role": "owner"}, format="json")

    assert api.patch(f"{P}/members/olivia", {"role": "member"}, format="json").status_code == 200
    assert _members(api) == {"dana": "owner", "olivia": "member"}


def test_an_unknown_username_is_400(api, project):
    response = api.post(f"{P}/members/", {"username": "nobody", "role": "viewer"},
                        format="json")

    assert "nobody" in error_body(response, 400, "username")["error"]


def test_an_unknown_role_is_400(api, project, make_user):
    make_user("kim")

    response = api.post(f"{P}/members/", {"username": "kim", "role": "admin"}, format="json")

    error_body(response, 400, "role")


def test_removing_somebody_who_is_not_a_member_is_404(api, project, make_user):
    make_user("kim")

    error_body(api.delete(f"{P}/members/kim"), 404, "username")


def test_patching_the_role_of_a_non_member_is_404(api, project, make_user, client_for):
    kim = client_for(make_user("kim"))

    response = api.patch(f"{P}/members/kim", {"role": "viewer"}, format="json")

    assert response.status_code == 404
    assert kim.get(f"{P}/").status_code == 404
