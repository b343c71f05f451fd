"""Who may see and change what, for every page: login, roles, 404 for outsiders, CSP.

Every page goes through `page`: anonymous visitors are sent to the login page, a project
a user is not a member of answers 404 (they learn nothing), a write by a role that may
not write answers 403. Responses carry a Content-Security-Policy that lets the page load
nothing from anywhere but this server, and run no inline script.
"""

from dataclasses import dataclass
from functools import wraps

from axes.helpers import get_client_ip_address
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

from tracker.errors import Forbidden, NotFound, StorageUnavailable
from tracker.models import Project, Run
from tracker.permissions import STAFF, can_administer, can_write
from tracker.selectors import access as access_selectors

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    # plotly's WebGL traces (parallel coordinates) compile shaders with new Function().
    "script-src 'self' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",  # plotly sets inline styles on the charts it draws
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def client_address(request) -> str:
    """The client's address as the audit log records it: the one sign-ins are counted by
    (settings.AXES_CLIENT_IP_CALLABLE, which knows the reverse proxies in front)."""
    return get_client_ip_address(request) or ""


def with_csp(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def page(view):
    """Login required; domain errors become the 404, 403 and 503 pages; CSP on every answer."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            response = view(request, *args, **kwargs)
        except NotFound:
            response = render(request, "web/error.html", {
                "title": "Not found",
                "message": "There is nothing here, or you are not a member of its project."},
                status=404)
        except Forbidden as exc:
            response = render(request, "web/error.html", {
                "title": "Not allowed", "message": exc.message}, status=403)
        except StorageUnavailable as exc:
            response = render(request, "web/error.html", {
                "title": "Storage unavailable", "message": exc.message}, status=exc.status)
        return with_csp(response)
    return wrapper


@dataclass(frozen=True)
class Access:
    """A project and what the signed-in user may do in it."""

    project: Project
    role: str

    @property
    def can_write(self) -> bool:
        return can_write(self.role)

    @property
    def is_owner(self) -> bool:
        return can_administer(self.role)

    @property
    def is_staff_visit(self) -> bool:
        """A staff user reading a project they are no member of: read-only."""
        return self.role == STAFF

    def require_write(self, doing: str = "change runs") -> None:
        if self.is_staff_visit:
            raise Forbidden(f"You see {self.project.name} as staff, read-only: add yourself "
                            f"as a member to {doing}.")
        if not self.can_write:
            raise Forbidden(f"Your role in {self.project.name} is {self.role}: only owners "
                            f"and members can {doing}.")

    def require_owner(self) -> None:
        if self.is_staff_visit:
            raise Forbidden(f"You see {self.project.name} as staff, read-only: add yourself "
                            "as an owner to change it.")
        if not self.is_owner:
            raise Forbidden(f"Your role in {self.project.name} is {self.role}: only owners "
                            "can change the target, guardrails, members and check-ins.")


def project_access(request, slug: str) -> Access:
    project, role = access_selectors.project_for_user(user=request.user, slug=slug)
    return Access(project, role)


def run_access(request, run_id: str) -> tuple[Run, Access]:
    run, role = access_selectors.run_for_user(user=request.user, run_id=run_id)
    return run, Access(run.project, role)
