"""Invitations: an owner invites an email address with a role; the person opens the emailed
link, signs in or chooses a username and password, and joins the project.

The link's token is shown only in the email: what is kept is its hash, as for API tokens.
A link works once, for INVITATION_DAYS days, until its owners revoke it. Whether an address
belongs to an account is never said (neither to the inviting owner nor to the link's
holder): the account is the one the person signs in with or creates.
"""

import logging
import secrets
import smtplib
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from tracker.errors import Conflict, Gone, InvalidInput, MailUnavailable
from tracker.models import AuditAction, Invitation, InvitationStatus, Membership, Project, Role
from tracker.models.tokens import hash_token
from tracker.permissions import ROLE_WORDS, higher_role
from tracker.services import audit

logger = logging.getLogger(__name__)

User = get_user_model()

# What the link's holder reads when it no longer works, by the invitation's state.
UNUSABLE = {
    InvitationStatus.ACCEPTED: "This invitation has already been used: each link works once. "
                               "If you joined with it, sign in to see the project; otherwise "
                               "ask the project's owners for a new invitation.",
    InvitationStatus.REVOKED: "This invitation was withdrawn by the project's owners. Ask "
                              "them for a new one if you still need to join.",
    InvitationStatus.EXPIRED: "This invitation has expired (a link works for {days} days). "
                              "Ask the project's owners for a new one.",
}


def clean_email(email) -> str:
    """An email address, trimmed, or a 400 naming the field."""
    email = (email or "").strip() if isinstance(email, str) else ""
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(f"{email!r} is not an email address", field="email") from None
    return email


def _check_role(role) -> str:
    if role not in Role.values:
        raise InvalidInput(f"role must be owner, member or viewer, not {role!r}", field="role")
    return role


def invite(*, project: Project, email: str, role: str, by, link_for: Callable[[str], str],
           address: str = "") -> Invitation:
    """Invite `email` to the project with `role`, and email them the link (`link_for(token)`
    makes it). A pending invitation of the same address is replaced: its link stops
    working. Recorded in the audit log.

    The email goes out before the invitation is saved for good: when the mail server
    refuses it, nothing is kept and the error says so.
    """
    email = clean_email(email)
    role = _check_role(role)
    now = timezone.now()
    with transaction.atomic():
        replaced = list(Invitation.objects.select_for_update().pending()
                        .filter(project=project, email__iexact=email))
        for old in replaced:
            old.revoked_at = now
            old.save(update_fields=["revoked_at"])
        raw = secrets.token_urlsafe(32)
        invitation = Invitation.objects.create(
            project=project, email=email, role=role, token_hash=hash_token(raw),
            invited_by=by if by is not None and by.is_authenticated else None,
            created_at=now, expires_at=now + timedelta(days=settings.INVITATION_DAYS))
        audit.record(action=AuditAction.INVITATION_CREATE, project=project, user=by,
                     subject=f"{email} as {role}", address=address,
                     details={"invitation": invitation.pk, "replaced": [i.pk for i in replaced],
                              "expires_at": invitation.expires_at.isoformat()})
        _send(invitation, link_for(raw))
    return invitation


def inviter_name(invitation: Invitation) -> str:
    """Who sent the invitation, as the email and its page name them."""
    user = invitation.invited_by
    if user is None:
        return "The owners"
    return user.get_full_name() or user.get_username()


def invitation_email(invitation: Invitation, link: str) -> EmailMultiAlternatives:
    """The invitation email: a plain-text body and a simple HTML one, the same words."""
    expires = timezone.localtime(invitation.expires_at)
    context = {
        "project": invitation.project.name, "inviter": inviter_name(invitation),
        "role": invitation.role, "role_words": ROLE_WORDS[invitation.role], "link": link,
        "days": settings.INVITATION_DAYS,
        "expires": f"{expires.day} {expires:%B %Y}",
    }
    subject = f"{context['inviter']} invited you to {invitation.project.name} on Targetline"
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # a header: a line break in a name would refuse it
        body=render_to_string("tracker/invitation_email.txt", context),
        to=[invitation.email])
    message.attach_alternative(render_to_string("tracker/invitation_email.html", context),
                               "text/html")
    return message


def _send(invitation: Invitation, link: str) -> None:
    try:
        invitation_email(invitation, link).send()
    except smtplib.SMTPRecipientsRefused:
        raise InvalidInput(f"the mail server refused the address {invitation.email!r}; "
                           "nothing was saved", field="email") from None
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("invitation email to %s failed: %s", invitation.email, exc)
        raise MailUnavailable("the invitation email could not be sent (the mail server did "
                              "not take it); nothing was saved: try again later",
                              field="email") from None


def revoke(*, invitation: Invitation, by, address: str = "") -> None:
    """Make an invitation's link stop working. Revoking it again changes nothing; an
    accepted invitation cannot be revoked (remove the member instead). Recorded in the
    audit log."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise Conflict(f"invitation {invitation.pk} was already accepted: remove the "
                           "member instead", field="invitation")
        if invitation.revoked_at is not None:
            return
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit.record(action=AuditAction.INVITATION_REVOKE, project=invitation.project,
                     user=by, subject=f"{invitation.email} as {invitation.role}",
                     address=address, details={"invitation": invitation.pk})


def unusable_reason(invitation: Invitation) -> str | None:
    """Why the invitation's link no longer works, in words for its holder; None if it does."""
    status = invitation.status
    if status != InvitationStatus.PENDING:
        return UNUSABLE[status].format(days=settings.INVITATION_DAYS)
    if invitation.project.deleted_at is not None:
        return "The project this invitation is for has been deleted."
    return None


def _locked_usable(invitation: Invitation) -> Invitation:
    invitation = (Invitation.objects.select_for_update().select_related("project")
                  .get(pk=invitation.pk))
    reason = unusable_reason(invitation)
    if reason:
        raise Gone(reason, field="invitation")
    return invitation


def accept(*, invitation: Invitation, user, address: str = "") -> Membership:
    """The signed-in `user` joins the project with the invitation's role; the link stops
    working. A member already keeps the higher of their role and the invited one. Recorded
    in the audit log."""
    with transaction.atomic():
        invitation = _locked_usable(invitation)
        project = invitation.project
        membership = (Membership.objects.select_for_update()
                      .filter(project=project, user=user).first())
        if membership is None:
            membership = Membership.objects.create(project=project, user=user,
                                                   role=invitation.role)
        elif higher_role(membership.role, invitation.role) != membership.role:
            membership.role = invitation.role
            membership.save(update_fields=["role"])
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit.record(action=AuditAction.INVITATION_ACCEPT, project=project, user=user,
                     subject=f"{user.get_username()} as {membership.role} (invited as "
                             f"{invitation.email})", address=address,
                     details={"invitation": invitation.pk, "invited_role": invitation.role})
    return membership


def accept_with_new_account(*, invitation: Invitation, username: str, password: str,
                            address: str = "") -> Membership:
    """Create an account (the username and password chosen, the invited email address) and
    join the project with it. The password passes Django's password validators."""
    with transaction.atomic():
        invitation = _locked_usable(invitation)
        username = (username or "").strip()
        try:
            User.username_validator(username)
        except ValidationError as exc:
            raise InvalidInput(exc.messages[0], field="username") from None
        if User.objects.filter(username__iexact=username).exists():
            raise Conflict(f"the username {username!r} is taken: choose another",
                           field="username")
        user = User(username=username, email=invitation.email)
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise InvalidInput(" ".join(exc.messages), field="password") from None
        user.set_password(password)
        user.save()
        return accept(invitation=invitation, user=user, address=address)
