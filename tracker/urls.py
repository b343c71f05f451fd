from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults


def api_root(request):
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
]
