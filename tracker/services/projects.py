"""Projects and their members: create a project (its owner, and its target and guardrails
when given, and not a typo of one of the creator's unless asked), rename it, add members,
change their roles and remove them."""

import re

from django.contrib.auth import get_user_model
from django.db import transaction

from tracker import spelling
from tracker.errors import Conflict, Forbidden, InvalidInput, NotFound
from tracker.models import (
    AuditAction,
    Guardrail,
    Membership,
    Project,
    Role,
    Target,
    TargetChange,
)
from tracker.selectors.model_registry import parse_stage
from tracker.selectors.projects import similar_projects
from tracker.services import audit
from tracker.services.model_registry import check_alias
from tracker.services.targets import clean_cost_metrics, clean_guardrails, clean_target
from tracker.validation import check_slug

User = get_user_model()


@transaction.atomic
def create_project(*, user, slug: str, name: str = "", description: str = "",
                   target: dict | None = None, guardrails: list | None = None,
                   cost_metrics: list | None = None, allow_similar: bool = True) -> Project:
    """Create a project; its creator becomes its owner. Target, guardrails and the project's
    own measures of cost are optional.

    With allow_similar=False, a slug that may be a typo of one of the creator's
    projects ("tumour-screen" beside "tumor-screen") is refused, naming it, with
    the `similar` slugs in the error: a script that misspells its project must not
    quietly start a second one.
    """
    slug = check_slug(slug)
    target_fields = clean_target(target) if target is not None else None
    costs = clean_cost_metrics(cost_metrics) if cost_metrics is not None else []
    guardrail_rows = (clean_guardrails(guardrails, target=target_fields, cost_metrics=costs)
                      if guardrails is not None else [])
    existing = Project.objects.filter(slug=slug).first()
    if existing is not None:
        yours = Membership.objects.filter(project=existing, user=user, role=Role.OWNER)
        where = (" (in your trash: restore it, or wait for its purge)"
                 if existing.deleted_at and yours.exists() else "")
        raise Conflict(f"a project with slug {slug!r} already exists{where}", field="slug")
    if not allow_similar:
        _refuse_a_typo(user=user, slug=slug)
    project = Project.objects.create(slug=slug, name=name or slug, description=description or "",
                                     created_by=user, cost_metrics=costs)
    Membership.objects.create(project=project, user=user, role=Role.OWNER)
    if target_fields:
        Target.objects.create(project=project, **target_fields)
        TargetChange.objects.create(project=project, changed_by=user, what="target", old=None,
                                    new=project.target.as_dict())
    if guardrail_rows:
        Guardrail.objects.bulk_create(Guardrail(project=project, **g) for g in guardrail_rows)
        TargetChange.objects.create(project=project, changed_by=user, what="guardrails",
                                    old=[], new=guardrail_rows)
    return project


def _refuse_a_typo(*, user, slug: str) -> None:
    similar = similar_projects(user=user, slug=slug)
    if similar:
        raise InvalidInput(f'No project "{slug}"; did you mean {spelling.choices(similar)}? '
                           'Send "create": true to create it.', field="slug", similar=similar)


def update_project(*, project: Project, name: str | None = None,
                   description: str | None = None) -> Project:
    """Rename or re-describe a project."""
    if name is not None:
        if not name.strip():
            raise InvalidInput("name must not be empty", field="name")
        project.name = name
    if description is not None:
        project.description = description
    project.save(update_fields=["name", "description"])
    return project


def set_deploy_triggers(*, project: Project, deploy_alias: str | None = None,
                        deploy_stage: str | None = None) -> Project:
    """Which registered-model alias and stage, set through the MLflow API, deploy a version
    to production (tracker.services.deployments); blank: neither does."""
    if deploy_alias is not None:
        try:
            project.deploy_alias = check_alias(deploy_alias) if deploy_alias else ""
        except InvalidInput as exc:
            raise InvalidInput(f"deploy_alias: {exc.message}", field="deploy_alias") from None
    if deploy_stage is not None:
        try:
            project.deploy_stage = parse_stage(deploy_stage) if deploy_stage else ""
        except InvalidInput as exc:
            raise InvalidInput(f"deploy_stage: {exc.message}", field="deploy_stage") from None
    project.save(update_fields=["deploy_alias", "deploy_stage"])
    return project


CASE_NOUN_LENGTH = 50
# Words of letters joined by one space, hyphen or apostrophe: "tickets", "support calls",
# "e-mails".
_CASE_NOUN = re.compile(r"[^\W\d_]+(?:[ '-][^\W\d_]+)*")


def set_case_noun(*, project: Project, case_noun: object) -> Project:
    """What the project's production cases are called, plural ("tickets"): the production
    and impact sentences count them. 1 to 50 characters of words (letters only)."""
    if not isinstance(case_noun, str) or not case_noun.strip():
        raise InvalidInput('case_noun must be a plural noun such as "tickets"',
                           field="case_noun")
    noun = case_noun.strip()
    if len(noun) > CASE_NOUN_LENGTH:
        raise InvalidInput(f"case_noun is {len(noun)} characters long; the limit is "
                           f"{CASE_NOUN_LENGTH}", field="case_noun")
    if not _CASE_NOUN.fullmatch(noun):
        raise InvalidInput(f"case_noun {noun!r} must be words of letters, such as "
                           '"tickets" or "support calls" (no digits or other signs)',
                           field="case_noun")
    project.case_noun = noun
    project.save(update_fields=["case_noun"])
    return project


def set_member(*, project: Project, username: str, role: str, create: bool = True,
               by=None, address: str = "") -> Membership:
    """Add a user to a project (unless create=False), or change their role; `by` did it,
    from `address` (the audit log records both).

    The last owner cannot be demoted.
    """
    if role not in Role.values:
        raise InvalidInput(f"role must be owner, member or viewer, not {role!r}", field="role")
    user = User.objects.filter(username=username).first()
    if user is None:
        raise InvalidInput(f"no user named {username!r}", field="username")
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(
            project=project, user=user).first()
        if membership is None:
            if not create:
                raise NotFound(f"{username!r} is not a member of this project",
                               field="username")
            audit.record(action=AuditAction.MEMBER_ADD, project=project, user=by,
                         subject=f"{username} as {role}", address=address)
            return Membership.objects.create(project=project, user=user, role=role)
        if membership.role == Role.OWNER and role != Role.OWNER:
            _ensure_another_owner(project, user)
        if membership.role != role:
            audit.record(action=AuditAction.MEMBER_ROLE, project=project, user=by,
                         subject=f"{username}: {membership.role} → {role}", address=address,
                         details={"old": membership.role, "new": role})
        membership.role = role
        membership.save(update_fields=["role"])
        return membership


@transaction.atomic
def remove_member(*, project: Project, username: str, by=None, address: str = "") -> None:
    """Remove a user from a project; a project always keeps at least one owner."""
    membership = Membership.objects.select_for_update().filter(
        project=project, user__username=username).first()
    if membership is None:
        raise NotFound(f"{username!r} is not a member of this project", field="username")
    if membership.role == Role.OWNER:
        _ensure_another_owner(project, membership.user)
    audit.record(action=AuditAction.MEMBER_REMOVE, project=project, user=by,
                 subject=f"{username} ({membership.role})", address=address)
    membership.delete()


def _ensure_another_owner(project: Project, user) -> None:
    others = Membership.objects.filter(project=project, role=Role.OWNER).exclude(user=user)
    if not others.exists():
        raise Conflict("a project needs at least one owner: make someone else owner first",
                       field="role")


@transaction.atomic
def staff_join(*, project: Project, user, role: str, address: str = "") -> Membership:
    """A staff user adds themselves to a project they are no member of, with the role they
    choose. Recorded in the audit log; anyone but staff is refused."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        raise Forbidden("only staff users may add themselves to a project")
    if role not in Role.values:
        raise InvalidInput(f"role must be owner, member or viewer, not {role!r}", field="role")
    if Membership.objects.filter(project=project, user=user).exists():
        raise Conflict("you are a member of this project already", field="role")
    audit.record(action=AuditAction.STAFF_JOIN, project=project, user=user,
                 subject=f"{user.get_username()} as {role}", address=address,
                 details={"role": role})
    return Membership.objects.create(project=project, user=user, role=role)
