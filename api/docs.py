"""The OpenAPI schema and the interactive docs page, as the v1 API serves them.

Apart from api/schema.py: drf-spectacular's views read the generator named in the
settings when they are defined, and that generator is api.schema's.
"""

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from api.schema import OperationSchemaGenerator


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema. Public: it describes the API, not anyone's data."""

    authentication_classes = []
    permission_classes = [AllowAny]
    generator_class = OperationSchemaGenerator


class DocsView(SpectacularSwaggerView):
    """The interactive docs page (Swagger UI, served from this server)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    url_name = "api-schema"

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        # drf-spectacular relaxes the opener policy for Swagger's OAuth2 pop-up; the API's
        # tokens are pasted, not fetched: the page keeps the policy of every answer.
        del response.headers["Cross-Origin-Opener-Policy"]
        return response
