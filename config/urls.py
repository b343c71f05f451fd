import sys

from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults

from api import errors as api_errors
from api import operations
from api.mlflow import endpoint as mlflow_endpoint
from api.mlflow import errors as mlflow_errors
from api.mlflow import urls as mlflow_urls
from tracker import database
from web import unavailable as web_unavailable
from web.views import account as account_views
from web.views import sso as sso_views

MLFLOW_ARTIFACT_PREFIXES = ("api/2.0/mlflow-artifacts/", "ajax-api/2.0/mlflow-artifacts/")
MLFLOW_V3_PREFIX = "api/3.0/mlflow/"
_MLFLOW_PATHS = tuple(f"/{prefix}" for prefix in (*mlflow_urls.API_PREFIXES,
                                                    *MLFLOW_ARTIFACT_PREFIXES, MLFLOW_V3_PREFIX))


def api_root(request):
    if request.method not in ("GET", "HEAD"):  # refused as the API refuses a method: in JSON
        return JsonResponse({"error": f'Method "{request.method}" not allowed.', "field": None},
                            status=405, headers={"Allow": "GET, HEAD"})
    return JsonResponse({"name": "Targetline API", "version": 1,
                         "docs": request.build_absolute_uri("/api/v1/docs/"),
                         "schema": request.build_absolute_uri("/api/v1/schema/")})


def server_error(request, *args, **kwargs):
    """API clients get their error shape even for a crash; people get the HTML page.

    A failure because the database is away for a moment (tracker.database), wherever it
    happened (a view, the session or user looked up by a middleware), is 503 with
    Retry-After rather than 500. Django calls this inside its `except`: sys.exc_info()
    holds the failure.
    """
    outage = database.unavailable(sys.exc_info()[1])
    if request.path.startswith(_MLFLOW_PATHS):
        return mlflow_endpoint.error_response(
            mlflow_errors.database_unavailable() if outage else mlflow_errors.MlflowError(
                "internal server error; the server log has the details",
                mlflow_errors.INTERNAL_ERROR))
    if request.path.startswith(("/api/", "/ajax-api/")):
        if outage:
            return api_errors.database_unavailable()
        return JsonResponse({"error": "internal server error; the server log has the details",
                             "field": None}, status=500)
    if outage:
        return web_unavailable.database_unavailable(request)
    return defaults.server_error(request, *args, **kwargs)


handler500 = server_error

urlpatterns = [
    path("admin/", admin.site.urls),
    # For load balancers, orchestrators and Prometheus (docs/operations.md#probes).
    path("healthz", operations.healthz, name="healthz"),
    path("readyz", operations.readyz, name="readyz"),
    path("metrics", operations.metrics, name="metrics"),
    path("api/v1/", api_root, name="api-root"),
    path("api/v1/", include("api.urls")),
    # The MLflow-compatible tracking API and its artifact proxy (api/mlflow/).
    path(mlflow_urls.API_PREFIXES[0], include("api.mlflow.urls")),
    path(mlflow_urls.API_PREFIXES[1], include(("api.mlflow.urls", "mlflow"), namespace="ajax")),
    *[path(prefix, include(mlflow_urls.artifact_urlpatterns))
      for prefix in MLFLOW_ARTIFACT_PREFIXES],
    path(MLFLOW_V3_PREFIX, include(mlflow_urls.v3_urlpatterns)),
    path("login/", account_views.login_view, name="login"),
    path("logout/", account_views.logout_view, name="logout"),
    # Single sign-on (web/sso.py): 404 until configured. The names are mozilla-django-oidc's.
    path("oidc/authenticate/", sso_views.start, name="oidc_authentication_init"),
    path("oidc/callback/", sso_views.callback, name="oidc_authentication_callback"),
    path("", include("web.urls")),
]
