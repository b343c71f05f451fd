"""The model registry as a user sees it: registered models, their numbered versions, stages
and aliases.

A registered model belongs to a project (RegisteredModel explains which); the
project's roles say who may do what: every member reads, owners and members
change. Before a version ties a model to a project, only its creator sees it.
Names, versions and stages are read as MLflow reads them, so a name one accepts the
other does too; tracker.services.model_registry checks what it writes the same way.
"""

import posixpath

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from tracker.errors import Forbidden, InvalidInput, NotFound
from tracker.models import Membership, ModelStage, ModelVersion, Project, RegisteredModel, Role
from tracker.permissions import can_write

STAGES = {stage.value.lower(): stage.value for stage in ModelStage}
# What a version is shown with: its run (and the run's project and experiment), its creator.
_VERSION_RELATIONS = ("run__project", "run__experiment", "created_by")


def visible_models(user) -> QuerySet[RegisteredModel]:
    """The registered models the user can read, each with `role` (the user's role in its
    project; "owner" for their own models that are in no project yet)."""
    role = Subquery(Membership.objects.filter(project=OuterRef("project_id"), user=user)
                    .values("role")[:1])
    return (RegisteredModel.objects
            .filter(Q(project__memberships__user=user) | Q(project__isnull=True, created_by=user))
            .annotate(role=role).select_related("project"))


def check_write(model: RegisteredModel) -> None:
    """Forbidden unless the user's role in the model's project lets them change it."""
    role = model.role or Role.OWNER  # no project: the creator's own
    if not can_write(role):
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
    """The model's version of that number (given as MLflow sends it, maybe a string)."""
    number = parse_version(version)
    found = model.versions.select_related(*_VERSION_RELATIONS).filter(version=number).first()
    if found is None:
        raise NotFound(f"Model Version (name={model.name}, version={number}) not found")
    found.registered_model = model
    return found


def with_versions(models: QuerySet[RegisteredModel]) -> QuerySet[RegisteredModel]:
    """The models with their versions (newest first), each version's run and creator, read in
    one more query for all of them."""
    versions = ModelVersion.objects.select_related(*_VERSION_RELATIONS).order_by("-version")
    return models.select_related("created_by").prefetch_related(
        Prefetch("versions", queryset=versions))


def project_models(project: Project) -> list[RegisteredModel]:
    """The project's registered models, each with its versions (newest first) and their runs."""
    return list(with_versions(RegisteredModel.objects.filter(project=project)))


def latest_versions(model: RegisteredModel, stages=None) -> list[ModelVersion]:
    """The newest version in each stage (of `stages`, default all), as MLflow lists them."""
    wanted = {parse_stage(s) for s in stages} if stages else set(STAGES.values())
    if "versions" in getattr(model, "_prefetched_objects_cache", {}):  # with_versions
        versions = list(model.versions.all())
    else:
        versions = list(model.versions.select_related(*_VERSION_RELATIONS))
    newest: dict[str, ModelVersion] = {}
    for version in sorted(versions, key=lambda v: v.version):
        version.registered_model = model
        newest[version.stage] = version
    return sorted((v for s, v in newest.items() if s in wanted), key=lambda v: v.version)


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
    """The version the model's alias points at."""
    if alias not in model.aliases:
        raise NotFound(f"Registered model alias {alias} not found.")
    return version_of(model, model.aliases[alias])


def aliases_of(version: ModelVersion) -> list[str]:
    """The aliases of the version's model that point at it, sorted."""
    return sorted(a for a, v in version.registered_model.aliases.items() if v == version.version)


def check_name(name, field: str = "name") -> str:
    """A registered model's name as MLflow takes it (no "/" or ":", not read as a path)."""
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
    """A version number: a positive integer, or a string of one."""
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
    """A stage named in any case ("production") as ModelStage spells it ("Production")."""
    canonical = STAGES.get(str(stage or "").strip().lower())
    if canonical is None:
        raise InvalidInput(f"Invalid Model Version stage: {stage}. Value must be one of "
                           f"{', '.join(STAGES.values())}.", field="stage")
    return canonical
