"""Writes to the model registry: registered models (create, rename, describe, tag, delete),
their versions (numbered as MLflow numbers them, staged, tagged, deleted) and aliases.

Callers check that the user may write (tracker.selectors.model_registry.model_by_name
with write=True does); names and aliases are checked here as MLflow checks them.
"""

import re

from django.db import IntegrityError, transaction
from django.db.models import Max

from tracker.errors import Conflict, InvalidInput, NotFound
from tracker.models import ModelStage, ModelVersion, Project, RegisteredModel, Run
from tracker.selectors.model_registry import check_name, parse_stage, version_of, visible_models
from tracker.services.deployments import deploy_registered_version
from tracker.services.json_fields import change_json_field

_ALIAS = re.compile(r"^[\w\-]{1,255}$")
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")


def check_alias(alias) -> str:
    """An alias as MLflow takes it; "latest" and v<number> are reserved for versions."""
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
    """Rename a model; the name must be free where the model is (its project, or its
    creator's models in no project)."""
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
    """Change a model's description."""
    model.description = description
    model.save(update_fields=["description", "updated_at"])
    return model


def _change(obj: RegisteredModel | ModelVersion, field: str, change) -> None:
    """Apply change(current dict) to a model's or version's tags or aliases under the row's
    lock; a version's change moves its model's updated_at as well."""
    with transaction.atomic():
        locked = change_json_field(obj, field, change)
        if isinstance(obj, ModelVersion):  # a version's change is its model's too
            RegisteredModel.objects.filter(pk=obj.registered_model_id).update(
                updated_at=locked.updated_at)


def set_tag(obj: RegisteredModel | ModelVersion, key: str, value: str) -> None:
    """Set a tag of a registered model or of a version."""
    _change(obj, "tags", lambda tags: {**tags, key: value})


def delete_tag(obj: RegisteredModel | ModelVersion, key: str) -> None:
    """Remove a tag of a registered model or of a version; NotFound when it has none."""
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


def set_alias(*, model: RegisteredModel, alias: str, version, user=None,
              address: str = "") -> None:
    """Point the model's alias at one of its versions (moving it if it pointed elsewhere).
    The project's deploy alias (default "champion") deploys that version to production."""
    check_alias(alias)
    found = version_of(model, version)
    with transaction.atomic():
        _change(model, "aliases", lambda aliases: {**aliases, alias: found.version})
        if model.project is not None and alias == model.project.deploy_alias:
            deploy_registered_version(version=found, user=user, address=address,
                                      note=f"alias {alias} set")


def delete_alias(*, model: RegisteredModel, alias: str) -> None:
    """Remove the model's alias (nothing happens when it has none of that name)."""
    _change(model, "aliases", lambda aliases: {k: v for k, v in aliases.items() if k != alias})


def create_version(*, user, model: RegisteredModel, source: str, run: Run | None = None,
                   logged_model_id: str = "", tags: dict | None = None, description: str = "",
                   run_link: str = "", project: Project | None = None,
                   number: int | None = None) -> ModelVersion:
    """The model's next version (highest number + 1, as MLflow numbers them), or the version
    `number` when given (a version copied from another registry keeps its number; Conflict
    when the model has it already).

    A version made from a run (or, with `project`, from something else of a project: an
    MLflow logged model of no run) ties a model that is in no project yet to that project;
    after that, every version's run must be in that project, so that who may see a version
    is who may see its run.
    """
    home = run.project if run is not None else project
    with transaction.atomic():
        locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        if home is not None:
            if locked.project_id is None:
                locked.project_id = home.pk
                if RegisteredModel.objects.filter(project_id=home.pk, name=model.name) \
                        .exclude(pk=model.pk).exists():
                    origin = f"run {run.id.hex}" if run is not None else "the logged model"
                    raise Conflict(
                        f"the project {home.slug!r} of {origin} already has a "
                        f"registered model named {model.name!r}; register this version there",
                        field="name")
            elif locked.project_id != home.pk:
                origin = f"run {run.id.hex}" if run is not None else "the logged model"
                raise InvalidInput(
                    f"{origin} is in project {home.slug!r}, but the registered "
                    f"model {model.name!r} belongs to project {locked.project.slug!r}; create "
                    f"the model in the {'run' if run is not None else 'logged model'}'s "
                    f"project first (MlflowClient().create_registered_"
                    f"model({model.name!r}, tags={{'targetline.project': "
                    f"'{home.slug}'}})), then register again",
                    field="run_id" if run is not None else "model_id")
        if number is None:
            number = (locked.versions.aggregate(top=Max("version"))["top"] or 0) + 1
        elif locked.versions.filter(version=number).exists():
            raise Conflict(f"Model Version (name={model.name}, version={number}) already "
                           "exists.", field="version")
        version = ModelVersion.objects.create(
            registered_model=locked, version=number, source=source, run=run,
            logged_model_id=logged_model_id or "", tags=dict(tags or {}),
            description=description or "", run_link=run_link or "", created_by=user)
        locked.save(update_fields=["project", "updated_at"])
    model.project_id, model.updated_at = locked.project_id, locked.updated_at
    if home is not None:
        model.project = home
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


def transition_stage(*, version: ModelVersion, stage: str, archive_existing: bool = False,
                     user=None, address: str = "") -> ModelVersion:
    """Move a version to a stage; with `archive_existing`, the model's other versions in
    Staging or Production that stage archive. The project's deploy stage (default
    Production) deploys the version to production."""
    stage = parse_stage(stage)
    project = version.registered_model.project
    with transaction.atomic():
        if project is not None and stage == project.deploy_stage:
            deploy_registered_version(version=version, user=user, address=address,
                                      note=f"stage {stage} set")
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
