from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults

from api.mlflow import urls as mlflow_urls
from web.views import account as account_views


def api_root(request):
    if request.method not in ("GET", "HEAD"):  # refused as the API refuses a method: in JSON
        return JsonResponse({"error": f'Method "{request.method}" not allowed.', "field": None},
                            status=405, headers={"Allow": "GET, HEAD"})
    return JsonResponse({"name": "Targetline API", "version": 1,
                         "docs": request.build_absolute_uri("/api/v1/docs/"),
                         "schema": request.build_absolute_uri("/api/v1/schema/")})


def server_error(request, *args, **kwargs):
    """API clients get the JSON error shape even for a crash; people get the HTML page."""
    if request.path.startswith(("/api/", "/ajax-api/")):
        return JsonResponse({"error": "internal server error; the server log has the details",
                             "field": None}, status=500)
    return defaults.server_error(request, *args, **kwargs)


handler500 = server_error

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api_root, name="api-root"),
    path("api/v1/", include("api.urls")),
    # The MLflow-compatible tracking API and its artifact proxy (api/mlflow/).
    path(mlflow_urls.API_PREFIXES[0], include("api.mlflow.urls")),
    path(mlflow_urls.API_PREFIXES[1], include(("api.mlflow.urls", "mlflow"), namespace="ajax")),
    path("api/2.0/mlflow-artifacts/", include(mlflow_urls.artifact_urlpatterns)),
    path("ajax-api/2.0/mlflow-artifacts/", include(mlflow_urls.artifact_urlpatterns)),
    path("api/3.0/mlflow/", include(mlflow_urls.v3_urlpatterns)),
    path("login/", account_views.login_view, name="login"),
    path("logout/", account_views.logout_view, name="logout"),
    path("", include("web.urls")),
]
