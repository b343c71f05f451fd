"""Base views that resolve and authorise the project or run once, so handlers receive objects.

Every view of the API answers one operation (api/routes.py binds a URL's operations).
Roles: viewers read, members also write runs and experiments, owners also change
the target, guardrails, members and the project itself. Outsiders get 404s.
"""

from rest_framework.views import APIView

from api.parsers import fields_of
from api.schema import DEFAULT_PAGE, MAX_PAGE, OperationSchema
from api.throttle import client_address
from tracker.errors import Forbidden
from tracker.models import Role
from tracker.permissions import STAFF, can_administer, can_write, who_may
from tracker.selectors.access import project_for_user, run_for_user
from tracker.validation import check_storable, to_int

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


class OperationView(APIView):
    """One operation of the API; any authenticated user may call it."""

    schema = OperationSchema()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # The URL's text, as the parsers (api/parsers.py) check the body's.
        check_storable(kwargs)
        check_storable(fields_of(request.query_params))

    @property
    def address(self) -> str:
        """The client's address, as the audit log records it (behind PROXY_COUNT proxies)."""
        return client_address(self.request)

    def page_query(self) -> tuple[int, int | None]:
        """A page's `limit` (DEFAULT_PAGE, at most MAX_PAGE) and `before` (the `next` of the
        previous page, or None for the first): api.schema.PAGE_PARAMETERS."""
        params = self.request.query_params
        limit = to_int(params.get("limit") or DEFAULT_PAGE, field="limit", minimum=1)
        before = params.get("before")
        return min(limit, MAX_PAGE), (to_int(before, field="before") if before else None)

    def validated(self, serializer_class, *, partial: bool = False) -> dict:
        """The request's body checked by an input serializer: a 400 naming the field if not."""
        serializer = serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def unwrapped(self, key: str):
        """The request's body, or the object under `key` when it comes wrapped as the read
        answers (`{"target": {...}}`): a client may send back what it read."""
        data = self.request.data
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            return data[key]
        return data


class ScopedView(OperationView):
    """An operation inside one project: every role reads; a write needs `write_role`."""

    write_role = Role.MEMBER  # or Role.OWNER

    def check_write(self, request) -> None:
        if request.method in READ_METHODS or not hasattr(self, request.method.lower()):
            return  # reads are open to every role; unknown methods get DRF's 405
        allowed = can_administer if self.write_role == Role.OWNER else can_write
        if self.role == STAFF:
            raise Forbidden("you see this project as staff, read-only; add yourself as a "
                            "member (in the web UI) to change it")
        if not allowed(self.role):
            raise Forbidden(f"your role in this project is {self.role}; "
                            f"only {who_may(self.write_role)} may do this")


class ProjectView(ScopedView):
    """A view under /projects/{slug}/: sets self.project and self.role. A project in the
    trash is not found, but by its owners in a view with `trashed` set."""

    trashed = False

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.project, self.role = project_for_user(user=request.user, slug=kwargs["slug"],
                                                   trashed=self.trashed)
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


class FileAnswerMixin:
    """For a view that answers with a file: any Accept header gets it (errors stay JSON)."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)
