"""JSON fields of one row (tags, aliases) changed under the row's lock, so that two clients
changing the same field at once both keep their change."""

from collections.abc import Callable

from django.db import models, transaction

from tracker.errors import NotFound


def change_json_field(obj: models.Model, field: str, change: Callable[[dict], dict], *,
                      touch: bool = True) -> models.Model:
    """Apply change(current value) to a JSON field of `obj`'s row under its lock; `obj` gets
    the new value. With `touch`, the row's updated_at moves too. Returns the row as saved."""
    with transaction.atomic():
        locked = type(obj).objects.select_for_update().get(pk=obj.pk)
        value = change(dict(getattr(locked, field)))
        setattr(locked, field, value)
        locked.save(update_fields=[field, "updated_at"] if touch else [field])
    setattr(obj, field, value)
    if touch:
        obj.updated_at = locked.updated_at
    return locked


def remove_tag(obj: models.Model, key: str, *, missing: str, touch: bool = True) -> None:
    """Remove one tag of `obj` under its row's lock; NotFound saying `missing` when the row
    has no such tag."""
    def without(tags: dict) -> dict:
        if key not in tags:
            raise NotFound(missing, field="key")
        return {k: v for k, v in tags.items() if k != key}

    change_json_field(obj, "tags", without, touch=touch)
