"""Base views that resolve and authorise the project or run once, so handlers receive objects.

Roles: viewers read, members also write runs and experiments, owners also change
the target, guardrails, members and the project itself. Outsiders get 404s.
"""

from rest_framework.views import APIView

from tracker.errors import Forbidden
from tracker.models import Role
from tracker.permissions import can_administer, can_write, who_may
from tracker.selectors.access import project_for_user, run_for_user

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


class ScopedView(APIView):
    # The role needed for writes on this view: "member" or "owner".
    write_role = Role.MEMBER

    def check_write(self, request) -> None:
        if request.method in READ_METHODS or not hasattr(self, request.method.lower()):
            return  # reads are open to every role; unknown methods get DRF's 405
        allowed = can_administer if self.write_role == Role.OWNER else can_write
        if not allowed(self.role):
            raise Forbidden(f"your role in this project is {self.role}; "
                            f"only {who_may(self.write_role)} may do this")


class ProjectView(ScopedView):
    """A view under /projects/{slug}/: sets self.project and self.role."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.project, self.role = project_for_user(user=request.user, slug=kwargs["slug"])
        self.check_write(request)


class RunView(ScopedView):
    """A view under /runs/{id}/: sets self.run, self.project and self.role.

    A deleted run is not found by reads; writes find it so the answer can say it
    was deleted (409) rather than pretend it never existed.
    """

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.run, self.role = run_for_user(user=request.user, run_id=kwargs["run_id"],
                                           include_deleted=request.method not in READ_METHODS)
        self.project = self.run.project
        self.check_write(request)
