"""Routes of the v1 API: one view per operation, and every URL with its trailing-slash twin.

Django binds a URL to one view. Here each operation (list the runs, start a run) is a view
of its own, with its own serializers and the role it needs; `route()` binds the operations
of one URL together and hands each request to the view of its method. The schema
generator (api/schema.py) reads the same binding, so the docs list each operation once.
"""

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt

# The pattern of a catch-all route: any path, newlines included (`.` alone stops at one, and a
# path with a %0A would then miss every route and get Django's HTML 404).
CATCH_ALL = r"^(?P<rest>(?s:.*))$"

# The methods an operation answers; HEAD follows GET and OPTIONS any view, as in Django.
OPERATION_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _handlers(views: tuple[type, ...]) -> dict[str, Callable]:
    """Each method of the URL and the view function that answers it."""
    handlers: dict[str, Callable] = {}
    for view in views:
        function = view.as_view()
        for method in OPERATION_METHODS:
            if not hasattr(view, method.lower()):
                continue
            if method in handlers:
                raise ImproperlyConfigured(f"two views answer {method}: {views}")
            handlers[method] = function
    if "GET" in handlers:
        handlers["HEAD"] = handlers["GET"]
    return handlers


def _endpoint(handlers: dict[str, Callable], *, documented: bool) -> Callable:
    """The view function of one URL: it passes each request to the view of its method.

    A method no operation answers goes to the first view, which refuses it (405) after
    the same authentication and project checks as any other request.
    """
    first = next(iter(handlers.values()))
    allow = ", ".join([*handlers, "OPTIONS"])

    @csrf_exempt  # as DRF's own views: SessionAuthentication checks CSRF itself
    def endpoint(request, *args, **kwargs):
        response = handlers.get(request.method, first)(request, *args, **kwargs)
        if response.has_header("Allow"):
            response["Allow"] = allow  # the URL's methods, not only this operation's
        return response

    endpoint.operations = {m: f for m, f in handlers.items() if m in OPERATION_METHODS}
    endpoint.documented = documented
    return endpoint


def route(pattern: str, *views: type, name: str, twin: bool = True) -> list[URLPattern]:
    """`pattern` served by `views`, one per operation, and (unless `twin` is False) the
    same URL with or without its trailing slash, so that clients never meet a redirect.

    Both answer alike; only `pattern` itself is documented in the schema.
    """
    handlers = _handlers(views)
    if not twin:
        return [path(pattern, _endpoint(handlers, documented=True), name=name)]
    bare = pattern.rstrip("/")
    # The slashed one last: reverse() then answers with it, as it always has. Unless the
    # URL ends with a <path:…> converter: the bare one would take the slash into the name
    # (`experiments/lr/` read as the experiment "lr/"), so the slashed one is tried first.
    urls = (bare + "/", bare) if bare.endswith(">") and "<path:" in bare else (bare, bare + "/")
    return [path(url, _endpoint(handlers, documented=url == pattern), name=name)
            for url in urls]
