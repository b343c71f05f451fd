"""Request middleware of the v1 API."""

import gzip
import io
import zlib

from django.http import JsonResponse

MAX_DECOMPRESSED = 256 * 1024 * 1024


class GzipRequestMiddleware:
    """Accept request bodies sent with `Content-Encoding: gzip` (the SDK compresses batches)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.META.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
            try:
                with gzip.GzipFile(fileobj=io.BytesIO(request.body)) as f:
                    body = f.read(MAX_DECOMPRESSED + 1)
            except (OSError, EOFError, zlib.error):
                return JsonResponse({"error": "request body is not valid gzip", "field": None},
                                    status=400)
            if len(body) > MAX_DECOMPRESSED:
                return JsonResponse({"error": "decompressed body is too large; split the batch",
                                     "field": None}, status=413)
            request._body = body
            request._stream = io.BytesIO(body)
            request.META["CONTENT_LENGTH"] = str(len(body))
            del request.META["HTTP_CONTENT_ENCODING"]
        return self.get_response(request)
