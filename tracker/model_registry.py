"""The model registry: registered models, their numbered versions, stages and aliases.

A registered model belongs to a project (RegisteredModel explains which); the
project's roles say who may do what: every member reads, owners and members
change. Before a version ties a model to a project, only its creator sees it.
Names are checked as MLflow checks them, so a name one accepts the other does too.
"""

import posixpath
import re

from django.db import IntegrityError, transaction
from django.db.models import Max, OuterRef, Prefetch, Q, QuerySet, Subquery

from tracker.errors import Conflict, Forbidden, InvalidInput, NotFound
from tracker.models import Membership, ModelStage, ModelVersion, Project, RegisteredModel, Role, Run
from tracker.permissions import can_write

STAGES = {stage.value.lower(): stage.value for stage in ModelStage}
_ALIAS = re.compile(r"^[\w\-]{1,255}$")
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")


# --- Who sees what ---------------------------------------------------------------------

def visible_models(user) -> QuerySet[RegisteredModel]:
    """The registered models the user can read, each with `role` (the user's role in its
    project; "owner" for their own models that are in no project yet)."""
    role = Subquery(Membership.objects.filter(project=OuterRef("project_id"), user=user)
                    .values("role")[:1])
    return (RegisteredModel.objects
            .filter(Q(project__memberships__user=user) | Q(project__isnull=True, created_by=user))
            .annotate(role=role).select_related("project"))


def role_of(model: RegisteredModel) -> str:
    return model.role or Role.OWNER  # no project: the creator's own


def check_write(model: RegisteredModel) -> None:
    if not can_write(role_of(model)):
        raise Forbidden(f"your role in the project of the registered model {model.name!r} is "
                        f"{model.role}; only owners and members may change it")


def model_by_name(user, name: str, *, write: bool = False,
                  project_id: int | None = None) -> RegisteredModel:
    """The registered model a name means to this user.

    MLflow names models per server, Targetline per project: a name the user finds
    in several projects means the one in `project_id` when given (a new version's
    run's project), else the oldest such model.
    """
    check_name(name)
    candidates = list(visible_models(user).filter(name=name).order_by("created_at", "id"))
    model = next((m for m in candidates if project_id is not None
                  and m.project_id == project_id), candidates[0] if candidates else None)
    if model is None:
        raise NotFound(f"Registered Model with name={name} not found")
    if write:
        check_write(model)
    return model


def version_of(model: RegisteredModel, version) -> ModelVersion:
    number = parse_version(version)
    found = (model.versions.select_related("run__project", "run__experiment", "created_by")
             .filter(version=number).first())
    if found is None:
        raise NotFound(f"Model Version (name={model.name}, version={number}) not found")
    found.registered_model = model
    return found


def with_versions(models: QuerySet[RegisteredModel]) -> QuerySet[RegisteredModel]:
    """The models with their versions (newest first), each version's run and creator, read in
    one more query for all of them."""
    versions = (ModelVersion.objects.select_related("run__project", "run__experiment",
                                                    "created_by").order_by("-version"))
    return models.select_related("created_by").prefetch_related(
        Prefetch("versions", queryset=versions))


def project_models(project: Project) -> list[RegisteredModel]:
    """The project's registered models, each with its versions (newest first) and their runs."""
    return list(with_versions(RegisteredModel.objects.filter(project=project)))


# --- Checks ----------------------------------------------------------------------------

def check_name(name, field: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"Missing value for required parameter '{field}'.", field=field)
    if "/" in name or ":" in name:
        raise InvalidInput(f"Invalid model name '{name}'. Names cannot contain '/' or ':'.",
                           field=field)
    normalized = posixpath.normpath(name)
    if normalized != name or normalized == "." or normalized.startswith(".."):
        raise InvalidInput(f"Invalid value '{name}' for parameter '{field}': names may not "
                           "read as other names when treated as paths", field=field)
    if len(name) > 250:
        raise InvalidInput(f"Invalid value for parameter '{field}': at most 250 characters",
                           field=field)
    return name


def parse_version(version) -> int:
    try:
        number = int(str(version).strip())
    except (TypeError, ValueError):
        raise InvalidInput(f"Parameter 'version' must be an integer, got '{version}'.",
                           field="version") from None
    if number < 1:
        raise InvalidInput(f"Parameter 'version' must be a positive integer, got '{version}'.",
                           field="version")
    return number


def parse_stage(stage) -> str:
    canonical = STAGES.get(str(stage or "").strip().lower())
    if canonical is None:
        raise InvalidInput(f"Invalid Model Version stage: {stage}. Value must be one of "
                           f"{', '.join(STAGES.values())}.", field="stage")
    return canonical


def check_alias(alias) -> str:
    if not isinstance(alias, str) or not alias:
        raise InvalidInput("Registered model alias name cannot be empty.", field="alias")
    if not _ALIAS.match(alias):
        raise InvalidInput(f"Invalid alias name: '{alias}'. Names may only contain "
                           "alphanumerics, underscores (_), and dashes (-), at most 255.",
                           field="alias")
    if alias.lower() == "latest" or _VERSION_ALIAS.match(alias):
        raise InvalidInput(f"Alias name '{alias}' is reserved ('latest' and v<number> name "
                           "versions already).", field="alias")
    return alias


# --- Registered models -------------------------------------------------------------------

def create_model(*, user, name: str, project: Project | None = None, description: str = "",
                 tags: dict | None = None) -> RegisteredModel:
    """A new registered model, in `project` when given (the caller checked the user may
    write there), else the user's own until its first version places it.

    A name the user already sees elsewhere is refused unless a project is named: the
    MLflow client looks models up by name alone, so a second one would be ambiguous.
    """
    check_name(name)
    taken = visible_models(user).filter(name=name)
    if project is not None:
        taken = taken.filter(project=project)
    if taken.exists():
        raise Conflict(f"Registered Model (name={name}) already exists.", field="name")
    try:
        with transaction.atomic():
            return RegisteredModel.objects.create(project=project, name=name, created_by=user,
                                                  description=description or "",
                                                  tags=dict(tags or {}))
    except IntegrityError:  # created concurrently
        raise Conflict(f"Registered Model (name={name}) already exists.", field="name") from None


def rename_model(*, model: RegisteredModel, new_name: str) -> RegisteredModel:
    check_name(new_name, "new_name")
    if new_name == model.name:
        return model
    same = RegisteredModel.objects.filter(name=new_name)
    same = (same.filter(project=model.project) if model.project_id is not None
            else same.filter(project__isnull=True, created_by=model.created_by))
    if same.exists():
        raise Conflict(f"Registered Model (name={new_name}) already exists.", field="new_name")
    model.name = new_name
    try:
        with transaction.atomic():
            model.save(update_fields=["name", "updated_at"])
    except IntegrityError:
        raise Conflict(f"Registered Model (name={new_name}) already exists.",
                       field="new_name") from None
    return model


def update_model(*, model: RegisteredModel, description: str) -> RegisteredModel:
    model.description = description
    model.save(update_fields=["description", "updated_at"])
    return model


def _change(obj: RegisteredModel | ModelVersion, field: str, change) -> None:
    """Apply change(current dict) to a JSON field under the row's lock (two clients setting
    tags or aliases at once both keep theirs); `obj` gets the new value."""
    with transaction.atomic():
        locked = type(obj).objects.select_for_update().get(pk=obj.pk)
        value = change(dict(getattr(locked, field)))
        setattr(locked, field, value)
        locked.save(update_fields=[field, "updated_at"])
        if isinstance(obj, ModelVersion):
            RegisteredModel.objects.filter(pk=obj.registered_model_id).update(
                updated_at=locked.updated_at)
    setattr(obj, field, value)
    obj.updated_at = locked.updated_at


def set_tag(obj: RegisteredModel | ModelVersion, key: str, value: str) -> None:
    """Set a tag of a registered model or of a version."""
    _change(obj, "tags", lambda tags: {**tags, key: value})


def delete_tag(obj: RegisteredModel | ModelVersion, key: str) -> None:
    if key not in obj.tags:
        raise NotFound(f"No tag with key {key!r} on {_describe(obj)}", field="key")

    def drop(tags):
        tags.pop(key, None)
        return tags
    _change(obj, "tags", drop)


def _describe(obj: RegisteredModel | ModelVersion) -> str:
    if isinstance(obj, ModelVersion):
        return f"version {obj.version} of registered model {obj.registered_model.name!r}"
    return f"registered model {obj.name!r}"


def delete_model(*, model: RegisteredModel) -> None:
    """Removes the model and its versions; runs and their logged models stay."""
    model.delete()


def latest_versions(model: RegisteredModel, stages=None) -> list[ModelVersion]:
    """The newest version in each stage (of `stages`, default all), as MLflow lists them."""
    wanted = {parse_stage(s) for s in stages} if stages else set(STAGES.values())
    if "versions" in getattr(model, "_prefetched_objects_cache", {}):  # with_versions
        versions = list(model.versions.all())
    else:
        versions = list(model.versions.select_related("run__project", "run__experiment",
                                                      "created_by"))
    newest: dict[str, ModelVersion] = {}
    for version in sorted(versions, key=lambda v: v.version):
        version.registered_model = model
        newest[version.stage] = version
    return sorted((v for s, v in newest.items() if s in wanted), key=lambda v: v.version)


def set_alias(*, model: RegisteredModel, alias: str, version) -> None:
    check_alias(alias)
    number = version_of(model, version).version
    _change(model, "aliases", lambda aliases: {**aliases, alias: number})


def delete_alias(*, model: RegisteredModel, alias: str) -> None:
    _change(model, "aliases", lambda aliases: {k: v for k, v in aliases.items() if k != alias})


def version_named(model: RegisteredModel, which: str) -> ModelVersion:
    """The version `models:/<name>/<which>` means: a number, "latest" (the newest), or a
    stage (the newest in it)."""
    if str(which).strip().lower() in (*STAGES, "latest"):
        stage = str(which).strip().lower()
        versions = latest_versions(model, None if stage == "latest" else [stage])
        if not versions:
            raise NotFound(f"Registered model {model.name!r} has no version"
                           + ("" if stage == "latest" else f" in stage {STAGES[stage]}"))
        return max(versions, key=lambda v: v.version)
    return version_of(model, which)


def version_by_alias(model: RegisteredModel, alias: str) -> ModelVersion:
    if alias not in model.aliases:
        raise NotFound(f"Registered model alias {alias} not found.")
    return version_of(model, model.aliases[alias])


def aliases_of(version: ModelVersion) -> list[str]:
    return sorted(a for a, v in version.registered_model.aliases.items() if v == version.version)


# --- Versions ----------------------------------------------------------------------------

def create_version(*, user, model: RegisteredModel, source: str, run: Run | None = None,
                   logged_model_id: str = "", tags: dict | None = None, description: str = "",
                   run_link: str = "") -> ModelVersion:
    """The model's next version (highest number + 1, as MLflow numbers them).

    A version made from a run ties a model that is in no project yet to the run's
    project; after that, every version's run must be in that project, so that who
    may see a version is who may see its run.
    """
    with transaction.atomic():
        locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        if run is not None:
            if locked.project_id is None:
                locked.project_id = run.project_id
                if RegisteredModel.objects.filter(project_id=run.project_id, name=model.name) \
                        .exclude(pk=model.pk).exists():
                    raise Conflict(
                        f"the project {run.project.slug!r} of run {run.id.hex} already has a "
                        f"registered model named {model.name!r}; register this version there",
                        field="name")
            elif locked.project_id != run.project_id:
                raise InvalidInput(
                    f"run {run.id.hex} is in project {run.project.slug!r}, but the registered "
                    f"model {model.name!r} belongs to project {locked.project.slug!r}; create "
                    f"the model in the run's project first (MlflowClient().create_registered_"
                    f"model({model.name!r}, tags={{'targetline.project': "
                    f"'{run.project.slug}'}})), then register again", field="run_id")
        number = (locked.versions.aggregate(top=Max("version"))["top"] or 0) + 1
        version = ModelVersion.objects.create(
            registered_model=locked, version=number, source=source, run=run,
            logged_model_id=logged_model_id or "", tags=dict(tags or {}),
            description=description or "", run_link=run_link or "", created_by=user)
        locked.save(update_fields=["project", "updated_at"])
    model.project_id, model.updated_at = locked.project_id, locked.updated_at
    if run is not None:
        model.project = run.project
    version.registered_model = model
    return version


def update_version(*, version: ModelVersion, **fields) -> ModelVersion:
    """Change a version's description or stage."""
    for field, value in fields.items():
        setattr(version, field, value)
    with transaction.atomic():
        version.save(update_fields=[*fields, "updated_at"])
        RegisteredModel.objects.filter(pk=version.registered_model_id).update(
            updated_at=version.updated_at)
    return version


def transition_stage(*, version: ModelVersion, stage: str,
                     archive_existing: bool = False) -> ModelVersion:
    """Move a version to a stage; with `archive_existing`, the model's other versions in
    Staging or Production that stage archive."""
    stage = parse_stage(stage)
    with transaction.atomic():
        if archive_existing and stage in (ModelStage.STAGING, ModelStage.PRODUCTION):
            (ModelVersion.objects.filter(registered_model_id=version.registered_model_id,
                                         stage=stage)
             .exclude(pk=version.pk).update(stage=ModelStage.ARCHIVED))
        update_version(version=version, stage=stage)
    return version


def delete_version(*, version: ModelVersion) -> None:
    """Removes the version and the aliases pointing at it (the run's files stay)."""
    number = version.version
    with transaction.atomic():
        version.delete()
        _change(version.registered_model, "aliases",
                lambda aliases: {a: v for a, v in aliases.items() if v != number})
