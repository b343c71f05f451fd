"""Request body parsers of the v1 API."""

import tempfile

from rest_framework.parsers import BaseParser, JSONParser

SPOOL_IN_MEMORY = 8 * 1024 * 1024  # bytes of a raw upload kept in memory before disk


class LenientJSONParser(JSONParser):
    """JSON that may contain bare NaN, Infinity and -Infinity (as Python's json writes them)."""

    strict = False


class RawBytesParser(BaseParser):
    """Any body, spooled to disk past 8 MB, handed to the view as a file object."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        # Handed on open to the view, which stores it; closed when garbage-collected.
        spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        if stream is not None:
            while chunk := stream.read(1024 * 1024):
                spooled.write(chunk)
        spooled.seek(0)
        return {"file": spooled}
