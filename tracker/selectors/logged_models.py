"""Reads of MLflow 3's logged models (tracker.models.LoggedModel) for the pages."""

from tracker.mlflow_mapping import MODEL_INPUTS_KEY
from tracker.models import LoggedModel, Run


def models_used_by(run: Run) -> list[LoggedModel]:
    """The logged models the run used (MLflow's model inputs: a model it evaluated, the
    active model its metrics named), in the order first logged; only those of the run's
    project, which whoever sees the run may see."""
    ids = [i.get("model_id") for i in (run.context or {}).get(MODEL_INPUTS_KEY, [])]
    found = {m.model_id: m for m in LoggedModel.objects.filter(
        model_id__in=ids, experiment__project_id=run.project_id)}
    return [found[i] for i in ids if i in found]
