"""Run artifacts: upload, list, download. Files go through Django's storage API."""

import mimetypes
import tempfile

from django.http import FileResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response

from api.base import RunView
from tracker.errors import InvalidInput, NotFound
from tracker.models import Artifact
from tracker.services import artifacts as artifact_services


class RawBytesParser(BaseParser):
    """Any body, spooled to disk past 8 MB, handed to the view as a file object."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        # Handed on open to the view, which stores it; closed when garbage-collected.
        spooled = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        if stream is not None:
            while chunk := stream.read(1024 * 1024):
                spooled.write(chunk)
        spooled.seek(0)
        return {"file": spooled}


class ArtifactOutput(serializers.Serializer):
    path = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    content_type = serializers.CharField()
    created_at = serializers.DateTimeField()
    url = serializers.CharField()


def artifact_data(request, artifact: Artifact) -> dict:
    return {
        "path": artifact.path,
        "size": artifact.size,
        "sha256": artifact.sha256,
        "content_type": artifact.content_type,
        "created_at": artifact.created_at.isoformat(),
        "url": request.build_absolute_uri(
            f"/api/v1/runs/{artifact.run_id}/artifacts/{artifact.path}"),
    }


class ArtifactListView(RunView):
    parser_classes = [MultiPartParser]

    @extend_schema(responses=ArtifactOutput(many=True), summary="Artifacts of the run")
    def get(self, request, run_id):
        return Response({"results": [artifact_data(request, a)
                                     for a in self.run.artifacts.all()]})

    @extend_schema(
        request={"multipart/form-data": inline_serializer("ArtifactUpload", {
            "file": serializers.FileField(),
            "path": serializers.CharField(required=False,
                                          help_text="path inside the run; default file name")})},
        responses={201: ArtifactOutput},
        summary="Upload a file (multipart field 'file'; optional 'path')",
    )
    def post(self, request, run_id):
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput("send the file as multipart form field 'file'", field="file")
        path = request.data.get("path") or upload.name
        content_type = upload.content_type or mimetypes.guess_type(path)[0] or ""
        artifact, replaced = artifact_services.store_artifact(run=self.run, path=path,
                                                              fileobj=upload,
                                                              content_type=content_type)
        return Response(artifact_data(request, artifact), status=200 if replaced else 201)


class ArtifactDetailView(RunView):
    parser_classes = [RawBytesParser]

    def _artifact(self, path: str) -> Artifact:
        artifact = self.run.artifacts.filter(path=path.strip("/")).first()
        if artifact is None:
            raise NotFound(f"run has no artifact {path!r}", field="path")
        return artifact

    @extend_schema(responses={(200, "application/octet-stream"): bytes},
                   summary="Download an artifact")
    def get(self, request, run_id, path):
        artifact = self._artifact(path)
        response = FileResponse(artifact.file.open("rb"), as_attachment=True,
                                filename=path.rsplit("/", 1)[-1],
                                content_type=artifact.content_type or "application/octet-stream")
        response["X-Checksum-SHA256"] = artifact.sha256
        return response

    @extend_schema(request={"application/octet-stream": bytes}, responses={201: ArtifactOutput},
                   summary="Upload raw bytes to this path (201; 200 when it replaced a file)")
    def put(self, request, run_id, path):
        upload = request.data.get("file")
        if upload is None:
            raise InvalidInput("send the file's bytes as the request body", field="file")
        content_type = mimetypes.guess_type(path)[0] or ""
        artifact, replaced = artifact_services.store_artifact(run=self.run, path=path,
                                                              fileobj=upload,
                                                              content_type=content_type)
        return Response(artifact_data(request, artifact), status=200 if replaced else 201)
