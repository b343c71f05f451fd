from rest_framework.parsers import JSONParser


class LenientJSONParser(JSONParser):
    """JSON that may contain bare NaN, Infinity and -Infinity (as Python's json writes them)."""

    strict = False
