"""MLflow's model registry endpoints (registered-models/*, model-versions/*).

`mlflow.<flavor>.log_model(..., registered_model_name="churn")` and
`mlflow.register_model` create a registered model and a version of it, and
`mlflow.pyfunc.load_model("models:/churn/1")` (or `@champion`, `/latest`,
`/Production`) finds the files through them. The domain rules (which project a
model belongs to, numbering, stages, aliases) are tracker.model_registry's; this
module reads MLflow's requests and answers in MLflow's shapes.

A version made from a logged model (`models:/m-…`) or a run points at that run's
files; nothing is copied, so a version is READY as soon as it exists. A version made
from a logged model is listed on it, as mlflow server lists it: the logged model's tag
`mlflow.modelVersions` gains {"name", "version"}.
"""

from django.db import transaction

from api.mlflow import authorization, fields, filters, placement
from api.mlflow.endpoint import endpoint
from api.mlflow.errors import MlflowError, already_exists, invalid
from api.mlflow.filter_syntax import order_key, parse
from api.mlflow.logged_models import find_logged_model, logged_model_uri
from api.mlflow.roles import check_write
from api.mlflow.shapes import artifact_uri
from api.mlflow.sources import check_source
from api.throttle import client_address
from tracker.errors import Conflict, NotFound
from tracker.models import LoggedModel, ModelVersion, RegisteredModel, Run
from tracker.selectors import model_registry as registry_selectors
from tracker.services import logged_models as logged_model_services
from tracker.services import model_registry as registry_services

MAX_MODELS_PER_SEARCH = 1000
DEFAULT_MODELS_PER_SEARCH = 100
MAX_VERSIONS_PER_SEARCH = 200_000
DEFAULT_VERSIONS_PER_SEARCH = 10_000
_MODEL_ORDER = {"name": "name", "timestamp": "creation_timestamp",
                "creation_timestamp": "creation_timestamp",
                "last_updated_timestamp": "last_updated_timestamp"}
_VERSION_ORDER = {"name": "name", "version_number": "version",
                  "creation_timestamp": "creation_timestamp",
                  "last_updated_timestamp": "last_updated_timestamp"}


def _ms(moment) -> int:
    return int(moment.timestamp() * 1000)


def _tag_list(tags: dict) -> list[dict]:
    return [{"key": k, "value": v} for k, v in tags.items()]


MAX_TAG_KEY_LENGTH = 250  # MLflow's limits for the registry's tags
MAX_TAG_VALUE_LENGTH = 100_000


def _tag(key, value, what: str = "key") -> tuple[str, str]:
    """A registry tag checked as MLflow checks it: a tag name of at most 250 characters and
    a value of at most 100,000."""
    fields.check_name(key, what)
    value = "" if value is None else str(value)
    if len(key) > MAX_TAG_KEY_LENGTH:
        raise invalid(f"Tag key '{key[:40]}…' had length {len(key)}, which exceeded length "
                      f"limit of {MAX_TAG_KEY_LENGTH}")
    if len(value) > MAX_TAG_VALUE_LENGTH:
        raise invalid(f"Tag value for '{key}' had length {len(value)}, which exceeded length "
                      f"limit of {MAX_TAG_VALUE_LENGTH}")
    return key, value


def _tags(data, field: str = "tags") -> dict:
    items = data.get(field)
    if items in (None, ""):
        return {}
    return dict(_tag(k, v, f"{field}.key") for k, v in fields.key_values(items, field))


# --- Shapes ------------------------------------------------------------------------------

def version_json(version: ModelVersion) -> dict:
    creator = version.created_by.get_username() if version.created_by else ""
    answer = {
        "name": version.registered_model.name,
        "version": str(version.version),
        "creation_timestamp": _ms(version.created_at),
        "last_updated_timestamp": _ms(version.updated_at),
        "user_id": creator,
        "current_stage": version.stage,
        "description": version.description,
        "source": version.source,
        "run_id": version.run.id.hex if version.run else "",
        "status": "READY",
        "tags": _tag_list(version.tags),
        "aliases": registry_selectors.aliases_of(version),
    }
    if version.run_link:
        answer["run_link"] = version.run_link
    return answer


def model_json(model: RegisteredModel) -> dict:
    return {
        "name": model.name,
        "creation_timestamp": _ms(model.created_at),
        "last_updated_timestamp": _ms(model.updated_at),
        "user_id": model.created_by.get_username() if model.created_by else "",
        "description": model.description,
        "tags": _tag_list(model.tags),
        "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(model.aliases.items())],
        "latest_versions": [version_json(v) for v in registry_selectors.latest_versions(model)],
    }


# --- Finding what a request names ------------------------------------------------------------

def _model(user, data, *, write: bool = False) -> RegisteredModel:
    return registry_selectors.model_by_name(user, fields.required(data, "name"), write=write)


def _version(user, data, *, write: bool = False) -> ModelVersion:
    model = _model(user, data, write=write)
    return registry_selectors.version_of(model, fields.required(data, "version"))


def _version_source(user, source: str, run_id, model_id) -> tuple[str, Run | None, str]:
    """(source, run, logged model id) of a new version.

    `models:/m-…` is a run's logged model; `models:/<name>/<version>` (or `/latest`, a stage,
    `@alias`) another registered version, whose run and logged model the new one shares;
    `run_id` names the run of any other source (`runs:/…`, an artifact URI).
    """
    if source.startswith("models:/") and not model_id:
        reference = source[len("models:/"):]
        if reference.startswith("m-"):
            model_id = reference.split("/")[0]
        else:
            name, at, alias = reference.partition("@")
            if at:
                copied = registry_selectors.version_by_alias(
                    registry_selectors.model_by_name(user, name), alias)
            else:
                name, _, which = reference.partition("/")
                copied = registry_selectors.version_named(
                    registry_selectors.model_by_name(user, name), which)
            run = None if copied.run is None else authorization.run_for(user, copied.run.id)
            return (f"models:/{copied.registered_model.name}/{copied.version}", run,
                    copied.logged_model_id)
    if model_id:
        logged = find_logged_model(user, model_id)
        run = logged.run
        if run is not None:
            run.project, run.experiment = logged.experiment.project, logged.experiment
            run.role = logged.role
        if run_id and run is not None and authorization.parse_run_id(run_id) != run.id:
            raise invalid(f"the logged model {model_id} was logged by run {run.id.hex}, not "
                          f"by run {run_id}")
        return source, run, logged.model_id
    if run_id:
        run = authorization.run_for(user, run_id)
        return source, run, _logged_model_at(run, source)
    return source, None, ""


def _logged_model_at(run: Run, source: str) -> str:
    """The id of the run's logged model whose folder the source names (`runs:/<run>/model`,
    or the artifact URI the client turns that into), or ""."""
    hex_id = run.id.hex
    for prefix in (f"runs:/{hex_id}/", f"/{hex_id}/artifacts/"):
        if prefix in source:
            path = source.partition(prefix)[2].strip("/")
            break
    else:
        return ""
    return run.logged_models.filter(path=path).values_list("model_id", flat=True).first() or ""


def download_uri(version: ModelVersion, user) -> str:
    """Where the version's files are: the run's logged model, the run's artifacts under a
    `runs:/` source's path, or else the source itself."""
    if version.logged_model_id:
        logged = (LoggedModel.objects.select_related("experiment__project", "run")
                  .filter(model_id=version.logged_model_id).first())
        if logged is not None:
            return logged_model_uri(logged, user)
    run = version.run
    if run is not None:
        experiment_id = placement.experiment_id_for(run.experiment, run.project, user)
        if version.source.startswith("runs:/"):
            path = version.source[len("runs:/"):].partition("/")[2].strip("/")
            return f"{artifact_uri(run, experiment_id)}/{path}".rstrip("/")
    return version.source


# --- Registered models -------------------------------------------------------------------

@endpoint("POST")
def create_registered_model(request, user, data):
    name = registry_selectors.check_name(fields.required(data, "name"))
    tags = _tags(data)
    slug = tags.get(placement.PROJECT_TAG)
    project = placement.tagged_project(user, slug) if slug else None
    try:
        model = registry_services.create_model(user=user, name=name, project=project, tags=tags,
                                               description=fields.string(data, "description"))
    except Conflict as exc:
        raise already_exists(exc.message) from None
    return {"registered_model": model_json(model)}


@endpoint("GET")
def get_registered_model(request, user, data):
    return {"registered_model": model_json(_model(user, data))}


@endpoint("POST")
def rename_registered_model(request, user, data):
    model = _model(user, data, write=True)
    try:
        registry_services.rename_model(model=model, new_name=fields.required(data, "new_name"))
    except Conflict as exc:
        raise already_exists(exc.message) from None
    return {"registered_model": model_json(model)}


@endpoint("PATCH")
def update_registered_model(request, user, data):
    model = _model(user, data, write=True)
    registry_services.update_model(model=model, description=fields.string(data, "description"))
    return {"registered_model": model_json(model)}


@endpoint("DELETE")
def delete_registered_model(request, user, data):
    registry_services.delete_model(model=_model(user, data, write=True))
    return {}


def _tag_value(tags: dict, clause):
    """A tag's value for a filter; a missing tag differs from every value, as in MLflow's
    registry (the client itself asks for `tags.mlflow.prompt.is_prompt != 'true'`)."""
    value = tags.get(clause.key)
    return "" if value is None and clause.op in ("!=", "NOT IN") else value


def _model_value(model: RegisteredModel, clause):
    if clause.entity == "tag":
        return _tag_value(model.tags, clause)
    if clause.key == "name":
        return model.name
    raise invalid(f"Invalid attribute key '{clause.key}' specified. Valid keys are '{{'name'}}'")


def _order(order_by: list, valid: dict, default: list[str]) -> list[tuple[str, bool]]:
    keys = []
    for item in order_by or default:
        kind, key, descending = order_key(item)
        if kind != "attribute" or key not in valid:
            raise invalid(f"Invalid order by key '{item}' specified. Valid keys are "
                          f"{', '.join(sorted(valid))}")
        keys.append((valid[key], descending))
    return keys


def _sorted(items: list[dict], order: list[tuple[str, bool]]) -> list[dict]:
    for key, descending in reversed(order):
        items.sort(key=lambda item, k=key: int(item[k]) if k == "version" else item[k],
                   reverse=descending)
    return items


@endpoint("GET", "POST")
def search_registered_models(request, user, data):
    node = parse(data.get("filter"), entities={"attribute", "tag"})
    order = _order(fields.string_list(data, "order_by"), _MODEL_ORDER, ["name ASC"])
    models = [m for m in registry_selectors.with_versions(registry_selectors.visible_models(user))
              if node is None or filters.evaluate(node, lambda c, m=m: _model_value(m, c))]
    found = _sorted([model_json(m) for m in models], order)
    return fields.offset_page(found, data, key="registered_models",
                              default=DEFAULT_MODELS_PER_SEARCH, most=MAX_MODELS_PER_SEARCH)


@endpoint("GET", "POST")
def get_latest_versions(request, user, data):
    model = _model(user, data)
    stages = fields.string_list(data, "stages")
    return {"model_versions": [version_json(v)
                               for v in registry_selectors.latest_versions(model, stages)]}


@endpoint("POST")
def set_registered_model_tag(request, user, data):
    model = _model(user, data, write=True)
    registry_services.set_tag(model, *_tag(data.get("key"), fields.string(data, "value")))
    return {}


@endpoint("DELETE")
def delete_registered_model_tag(request, user, data):
    registry_services.delete_tag(_model(user, data, write=True), fields.required(data, "key"))
    return {}


@endpoint("GET", "POST", "DELETE")
def alias(request, user, data):
    """GET reads the version an alias names, POST points an alias at a version, DELETE
    removes it."""
    model = _model(user, data, write=request.method != "GET")
    name = fields.required(data, "alias")
    if request.method == "GET":
        try:
            return {"model_version": version_json(registry_selectors.version_by_alias(model, name))}
        except NotFound as exc:  # mlflow server's code for an alias it does not know
            raise invalid(exc.message) from None
    if request.method == "DELETE":
        registry_services.delete_alias(model=model, alias=name)
    else:
        registry_services.set_alias(model=model, alias=name,
                                    version=fields.required(data, "version"), user=user,
                                    address=client_address(request))
    return {}


# --- Versions ----------------------------------------------------------------------------

@endpoint("POST")
def create_model_version(request, user, data):
    name = fields.required_string(data, "name")
    check_source(fields.required_string(data, "source"))
    source, run, logged_model_id = _version_source(
        user, data["source"], data.get("run_id"), data.get("model_id"))
    logged = _readable_logged_model(user, logged_model_id) if run is None else None
    home = run.project if run is not None else (
        logged.experiment.project if logged is not None else None)
    model = registry_selectors.model_by_name(user, name, write=True,
                                             project_id=None if home is None else home.pk)
    if home is not None and model.project_id is None:  # the model joins the source's project
        check_write(run.role if run is not None else logged.role,
                    "run" if run is not None else "logged model")
    tags, description = _tags(data), fields.string(data, "description")
    run_link = fields.string(data, "run_link")
    with transaction.atomic():  # the version and its mention on the logged model, or neither
        version = registry_services.create_version(
            user=user, model=model, source=source, run=run, logged_model_id=logged_model_id,
            tags=tags, description=description, run_link=run_link, project=home)
        if logged_model_id and _names_logged_model(data):
            logged = logged or LoggedModel.objects.filter(model_id=logged_model_id).first()
            if logged is not None:
                logged_model_services.link_model_version(model=logged, name=model.name,
                                                         version=version.version)
    return {"model_version": version_json(version)}


def _readable_logged_model(user, model_id: str) -> LoggedModel | None:
    """The logged model a version is made from (with the user's role), when there is one
    the user may read: one deleted since a copied version was made from it is none."""
    if not model_id:
        return None
    try:
        return find_logged_model(user, model_id)
    except MlflowError:
        return None


def _names_logged_model(data) -> bool:
    """Whether a new version's request ties it to a logged model as mlflow server reads it:
    `model_id` given, or a source that is another registered version (which shares that
    version's logged model). Only then does mlflow server tag the logged model with the
    version (mlflow.modelVersions); a bare `models:/m-…` source is no such tie there."""
    reference = data["source"].removeprefix("models:/") if data["source"].startswith(
        "models:/") else None
    return bool(data.get("model_id")) or (reference is not None
                                          and not reference.startswith("m-"))


@endpoint("GET")
def get_model_version(request, user, data):
    return {"model_version": version_json(_version(user, data))}


@endpoint("PATCH")
def update_model_version(request, user, data):
    version = _version(user, data, write=True)
    registry_services.update_version(version=version,
                                     description=fields.string(data, "description"))
    return {"model_version": version_json(version)}


@endpoint("POST")
def transition_model_version_stage(request, user, data):
    version = _version(user, data, write=True)
    archive = str(data.get("archive_existing_versions", "")).lower() == "true"
    registry_services.transition_stage(version=version, stage=fields.required(data, "stage"),
                                       archive_existing=archive, user=user,
                                       address=client_address(request))
    return {"model_version": version_json(version)}


@endpoint("DELETE")
def delete_model_version(request, user, data):
    registry_services.delete_version(version=_version(user, data, write=True))
    return {}


@endpoint("GET")
def get_model_version_download_uri(request, user, data):
    return {"artifact_uri": download_uri(_version(user, data), user)}


@endpoint("POST")
def set_model_version_tag(request, user, data):
    version = _version(user, data, write=True)
    registry_services.set_tag(version, *_tag(data.get("key"), fields.string(data, "value")))
    return {}


@endpoint("DELETE")
def delete_model_version_tag(request, user, data):
    registry_services.delete_tag(_version(user, data, write=True), fields.required(data, "key"))
    return {}


def _version_value(version: ModelVersion, clause):
    if clause.entity == "tag":
        return _tag_value(version.tags, clause)
    values = {"name": version.registered_model.name, "version_number": version.version,
              "run_id": version.run.id.hex if version.run else None,
              "source_path": version.source}
    if clause.key not in values:
        raise invalid(f"Invalid attribute key '{clause.key}' specified. Valid keys are "
                      "'name', 'version_number', 'run_id', 'source_path'")
    return values[clause.key]


@endpoint("GET", "POST")
def search_model_versions(request, user, data):
    node = parse(data.get("filter"), entities={"attribute", "tag"})
    order = _order(fields.string_list(data, "order_by"), _VERSION_ORDER, [])
    keys = {key for key, _ in order}
    order += [k for k in [("name", False), ("version", True)] if k[0] not in keys]
    versions = (ModelVersion.objects
                .filter(registered_model__in=registry_selectors.visible_models(user).values("pk"))
                .select_related("registered_model", "run__project", "run__experiment",
                                "created_by"))
    found = [version_json(v) for v in versions
             if node is None or filters.evaluate(node, lambda c, v=v: _version_value(v, c))]
    return fields.offset_page(_sorted(found, order), data, key="model_versions",
                              default=DEFAULT_VERSIONS_PER_SEARCH, most=MAX_VERSIONS_PER_SEARCH)
