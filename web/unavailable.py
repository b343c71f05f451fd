"""The page people see while the database is away for a moment (tracker.database)."""

from django.http import HttpResponse
from django.template import loader

from tracker import database
from web.permissions import with_csp


def database_unavailable(request) -> HttpResponse:
    """503 with Retry-After, in the site's layout. Rendered without the request's context:
    the signed-in user and the messages live in the database too."""
    seconds = database.retry_after()
    html = loader.render_to_string("web/error.html", {
        "title": "Targetline is unavailable for a moment",
        "message": "Its database does not answer: it is restarting, or busy. Reload this "
                   f"page in {seconds} seconds; if you were saving a change, make it again "
                   "then.",
    })
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(seconds)
    return with_csp(response)
