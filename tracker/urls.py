from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path


def api_root(request):
    return JsonResponse({"name": "Targetline API", "version": 1,
                         "docs": request.build_absolute_uri("/api/v1/docs/"),
                         "schema": request.build_absolute_uri("/api/v1/schema/")})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api_root, name="api-root"),
    path("api/v1/", include("api.urls")),
]
