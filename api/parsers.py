"""Request body parsers of the v1 API.

Each refuses, with a 400 naming the field, text the database cannot store (the NUL
character, lone surrogates: tracker.validation.text_problem) before a view sees it.
"""

import io
import tempfile

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, FormParser, JSONParser, MultiPartParser

from tracker.validation import check_storable, may_hold_unstorable_text

SPOOL_IN_MEMORY = 8 * 1024 * 1024  # bytes of a raw upload kept in memory before disk

def fields_of(query_dict) -> dict:
    """A form's or a query string's fields as an object: a value, or the list of a field
    given more than once (as errors name them: `tags`, `tags[1]`)."""
    return {key: values[0] if len(values) == 1 else values
            for key, values in query_dict.lists()}


class LenientJSONParser(JSONParser):
    """JSON that may contain bare NaN, Infinity and -Infinity (as Python's json writes them)."""

    strict = False

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply") from None
        if may_hold_unstorable_text(raw):
            check_storable(data)
        return data


class CheckedFormParser(FormParser):
    """A URL-encoded form, its text checked."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        check_storable(fields_of(data))
        return data


class CheckedMultiPartParser(MultiPartParser):
    """A multipart form, its text fields checked (files are stored as bytes)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        check_storable(fields_of(parsed.data))
        return parsed


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
