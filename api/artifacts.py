"""Run artifacts: list, upload, download. Files go through Django's storage API."""

import mimetypes
from urllib.parse import quote

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import FileAnswerMixin, RunView
from api.parsers import CheckedMultiPartParser, RawBytesParser
from api.schema import results
from tracker.errors import InvalidInput, NotFound
from tracker.models import Artifact
from tracker.services import artifacts as artifact_services
from tracker.storage import open_stored

TAGS = ["Artifacts"]


class ArtifactOutput(serializers.Serializer):
    """A file kept with a run."""

    path = serializers.CharField(help_text="its path inside the run, e.g. models/model.pkl")
    size = serializers.IntegerField(help_text="bytes")
    sha256 = serializers.CharField()
    content_type = serializers.CharField()
    created_at = serializers.DateTimeField()
    url = serializers.URLField(help_text="where to download it")


STORED = {201: OpenApiResponse(ArtifactOutput, description="Stored"),
          200: OpenApiResponse(ArtifactOutput, description="Replaced the file at this path")}


def artifact_data(request, artifact: Artifact) -> dict:
    return {
        "path": artifact.path,
        "size": artifact.size,
        "sha256": artifact.sha256,
        "content_type": artifact.content_type,
        "created_at": artifact.created_at.isoformat(),
        "url": request.build_absolute_uri(
            f"/api/v1/runs/{artifact.run_id}/artifacts/{quote(artifact.path)}"),
    }


def stored(request, run, *, path: str, fileobj, content_type: str) -> Response:
    """Store a file at `path`: 201 with the artifact, 200 when it replaced one."""
    artifact, replaced = artifact_services.store_artifact(run=run, path=path, fileobj=fileobj,
                                                          content_type=content_type)
    return Response(artifact_data(request, artifact), status=200 if replaced else 201)


class ArtifactListView(RunView):
    """The run's files, in path order."""

    @extend_schema(tags=TAGS, summary="List a run's artifacts",
                   responses=results("ArtifactList", ArtifactOutput))
    def get(self, request, run_id):
        return Response({"results": [artifact_data(request, a)
                                     for a in self.run.artifacts.all()]})


class ArtifactUploadView(RunView):
    """Upload a file as the multipart field `file` (owners and members): 201, or 200 when
    it replaced the file at that path. Paths with `..` are refused. A full artifact storage
    answers 507, one that cannot be written 503: nothing is stored."""

    parser_classes = [CheckedMultiPartParser]

    class Input(serializers.Serializer):
        file = serializers.FileField()
        path = serializers.CharField(required=False,
                                     help_text="its path inside the run; default: the file name")

    @extend_schema(tags=TAGS, summary="Upload an artifact",
                   request={"multipart/form-data": Input}, responses=STORED)
    def post(self, request, run_id):
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput("send the file as multipart form field 'file'", field="file")
        path = request.data.get("path") or upload.name
        content_type = upload.content_type or mimetypes.guess_type(path)[0] or ""
        return stored(request, self.run, path=path, fileobj=upload, content_type=content_type)


def _artifact(run, path: str) -> Artifact:
    artifact = run.artifacts.filter(path=path.strip("/")).first()
    if artifact is None:
        raise NotFound(f"run has no artifact {path!r}", field="path")
    return artifact


class ArtifactDownloadView(FileAnswerMixin, RunView):
    """The file's bytes, as an attachment; the header X-Checksum-SHA256 carries its hash."""

    @extend_schema(tags=TAGS, summary="Download an artifact",
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, run_id, path):
        artifact = _artifact(self.run, path)
        response = FileResponse(open_stored(artifact.file, what="artifact's file"),
                                as_attachment=True,
                                filename=path.rsplit("/", 1)[-1],
                                content_type=artifact.content_type or "application/octet-stream")
        response["X-Checksum-SHA256"] = artifact.sha256
        return response


class ArtifactPutView(RunView):
    """Store the request body as the file at this path (owners and members): 201, or 200
    when it replaced a file. Needs nothing but the path: no form, no file name. A full
    artifact storage answers 507, one that cannot be written 503: nothing is stored."""

    parser_classes = [RawBytesParser]

    @extend_schema(tags=TAGS, summary="Upload an artifact's bytes to a path",
                   request={"application/octet-stream": OpenApiTypes.BINARY},
                   responses=STORED)
    def put(self, request, run_id, path):
        upload = request.data.get("file")
        if upload is None:
            raise InvalidInput("send the file's bytes as the request body", field="file")
        return stored(request, self.run, path=path, fileobj=upload,
                      content_type=mimetypes.guess_type(path)[0] or "")
