"""MLflow's experiment endpoints (experiments/*, but their search: search.py).

An MLflow experiment is a Targetline experiment in one of the user's projects;
placement.py decides which, and which one is the user's experiment "0".
"""

from django.db import transaction

from api.mlflow import authorization, fields, placement, shapes
from api.mlflow.endpoint import endpoint
from api.mlflow.errors import already_exists, invalid, not_found
from api.throttle import client_address
from tracker.errors import Conflict
from tracker.models import Experiment
from tracker.services import experiments as experiment_services


def _experiment_to_change(user, data) -> Experiment:
    """The experiment a request changes (`experiment_id`), which the user must be able to
    write to."""
    return authorization.experiment_for(user, fields.required(data, "experiment_id"), write=True)


def _not_default(experiment: Experiment, user, doing: str) -> None:
    if placement.is_default(experiment, experiment.project, user):
        raise invalid(f"Cannot {doing} the default experiment '0'.")


@endpoint("POST")
def create_experiment(request, user, data):
    name = fields.required(data, "name")
    if not isinstance(name, str):
        raise invalid(f"Invalid experiment name: {name!r}. Expects a string.")
    tags = {k: "" if v is None else v for k, v in fields.key_values(data.get("tags") or [], "tags")}
    if name == placement.DEFAULT_EXPERIMENT_NAME:
        raise already_exists("Experiment(name=Default) already exists: it is experiment '0'")
    with transaction.atomic():
        project, created = placement.project_for_new_experiment(user, name, tags)
        inner_name = placement.experiment_name_in(project, name)
        tags[placement.PROJECT_TAG] = project.slug
        if created:
            tags.update(placement.new_project_tags(user, project, name))
        try:
            experiment = experiment_services.create_experiment(project=project, user=user,
                                                               name=inner_name)
        except Conflict:
            raise already_exists(f"Experiment(name={name}) already exists in project "
                                 f"{project.slug}") from None
        experiment_services.set_experiment_tags(experiment=experiment, tags=tags)
    return {"experiment_id": str(experiment.pk)}


@endpoint("GET")
def get_experiment(request, user, data):
    experiment = authorization.experiment_for(user, fields.required(data, "experiment_id"))
    return {"experiment": shapes.experiment_json(experiment, user)}


@endpoint("GET")
def get_experiment_by_name(request, user, data):
    name = fields.required(data, "experiment_name")
    experiment = placement.experiment_by_name(user, name)
    if experiment is None:
        raise not_found(f"Could not find experiment with name '{name}'")
    return {"experiment": shapes.experiment_json(experiment, user)}


@endpoint("POST")
def delete_experiment(request, user, data):
    experiment = _experiment_to_change(user, data)
    _not_default(experiment, user, "delete")
    experiment_services.delete_experiment(experiment=experiment, user=user,
                                          address=client_address(request))
    return {}


@endpoint("POST")
def restore_experiment(request, user, data):
    experiment_services.restore_experiment(experiment=_experiment_to_change(user, data),
                                           user=user, address=client_address(request))
    return {}


@endpoint("POST")
def update_experiment(request, user, data):
    experiment = _experiment_to_change(user, data)
    fields.required(data, "new_name")  # as mlflow server: a rename to nothing is refused
    new_name = fields.string(data, "new_name")
    _not_default(experiment, user, "rename")
    try:
        experiment_services.rename_experiment(
            experiment=experiment,
            name=placement.experiment_name_in(experiment.project, new_name))
    except Conflict as exc:
        raise already_exists(exc.message) from None
    return {}


@endpoint("POST")
def set_experiment_tag(request, user, data):
    experiment = _experiment_to_change(user, data)
    key = fields.check_name(fields.required(data, "key"), "key")
    value = fields.string(data, "value")
    if key == placement.PROJECT_TAG and value != experiment.project.slug:
        raise invalid(f"experiment {experiment.name!r} belongs to project "
                      f"{experiment.project.slug!r}; the tag {placement.PROJECT_TAG} cannot "
                      "move it (create a new experiment with the tag instead)")
    experiment_services.set_experiment_tags(experiment=experiment, tags={key: value})
    return {}


@endpoint("POST")
def delete_experiment_tag(request, user, data):
    experiment_services.delete_experiment_tag(experiment=_experiment_to_change(user, data),
                                              key=fields.required(data, "key"))
    return {}
