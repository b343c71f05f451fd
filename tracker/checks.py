"""System checks that `manage.py check --deploy` runs before a deployment goes live."""

from django.core.checks import Error
from django.core.files.storage import default_storage


def artifact_storage_reachable(app_configs, **kwargs) -> list[Error]:
    """The S3 bucket of ARTIFACT_STORAGE_URL answers with these credentials (a folder is
    checked when it is written: `manage.py quickstart` creates it)."""
    check = getattr(default_storage, "check", None)
    if check is None:
        return []
    try:
        check()
    except OSError as exc:
        return [Error(f"the artifact storage cannot be reached: {exc.strerror or exc}",
                      hint="check ARTIFACT_STORAGE_URL, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, "
                           "AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION",
                      id="targetline.E001")]
    return []
