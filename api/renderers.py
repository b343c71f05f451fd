"""Response renderers of the v1 API."""

import math

from rest_framework.renderers import JSONRenderer


def finite_json(data):
    """Replace NaN and ±inf floats by "NaN", "Infinity", "-Infinity" so output is strict JSON."""
    if isinstance(data, float):
        if math.isfinite(data):
            return data
        if math.isnan(data):
            return "NaN"
        return "Infinity" if data > 0 else "-Infinity"
    if isinstance(data, dict):
        return {k: finite_json(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite_json(v) for v in data]
    return data


class StrictJSONRenderer(JSONRenderer):
    """JSON with non-finite numbers written as strings (see finite_json)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return super().render(finite_json(data), accepted_media_type, renderer_context)
