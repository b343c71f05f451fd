"""Where MLflow's experiments live among Targetline's projects.

Mapping decisions (docs/mlflow.md):
- An MLflow experiment is a Targetline experiment; its id is Experiment.id.
- MLflow's experiment "0" ("Default", used by `mlflow.start_run()` without
  `set_experiment`) is each user's own: the experiment "Default" of a personal
  project `default-<username>`, created with the user as owner on first use.
- A new experiment goes to the project its tag `targetline.project` names, or a
  "project-slug/" prefix of its name names, or else to a project named after it. A
  project made that way is created as MLflow scripts expect (they cannot be asked to
  confirm), and the experiment's tags say so: `targetline.project.new`, and the
  user's projects its slug may be a typo of in `targetline.project.similar`.
"""

import re

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from api.mlflow.errors import invalid, not_found
from api.mlflow.roles import check_write, role_subquery, visible_experiments
from tracker.errors import Conflict
from tracker.models import Experiment, Project
from tracker.selectors import projects as project_selectors
from tracker.services import experiments as experiment_services
from tracker.services import projects as project_services

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
PROJECT_TAG = "targetline.project"
NEW_PROJECT_TAG = "targetline.project.new"
SIMILAR_PROJECTS_TAG = "targetline.project.similar"


# --- The default experiment "0" ------------------------------------------------------

def default_project_slug(user) -> str:
    base = re.sub(r"[-_]+", "-", slugify(user.get_username())).strip("-")[:80] or "user"
    return f"default-{base}"


def _default_project(user, *, create: bool) -> Project | None:
    slugs = [default_project_slug(user), f"{default_project_slug(user)}-{user.pk}"]
    projects = {p.slug: p for p in Project.objects.filter(slug__in=slugs,
                                                          memberships__user=user)}
    for slug in slugs:
        if slug in projects:
            return projects[slug]
    if not create:
        return None
    for slug in slugs:
        if not Project.objects.filter(slug=slug).exists():
            try:
                with transaction.atomic():
                    return project_services.create_project(
                        user=user, slug=slug, name=f"Default ({user.get_username()})",
                        description="Runs an MLflow client logged without choosing an "
                                    "experiment (MLflow's experiment 0).")
            except (IntegrityError, Conflict):  # created concurrently: read it below
                pass
    return Project.objects.filter(slug__in=slugs, memberships__user=user).first()


def default_experiment(user, *, create: bool = True) -> Experiment | None:
    """The user's experiment "0": "Default" in their personal project, made on first use."""
    project = _default_project(user, create=create)
    if project is None:
        return None
    experiment = Experiment.objects.filter(project=project, name=DEFAULT_EXPERIMENT_NAME).first()
    if experiment is None and create:
        experiment = experiment_services.get_or_create_experiment(project=project, user=user,
                                                                  name=DEFAULT_EXPERIMENT_NAME)
        if PROJECT_TAG not in experiment.tags:
            experiment_services.set_experiment_tags(experiment=experiment,
                                                    tags={PROJECT_TAG: project.slug})
    return experiment


def is_default(experiment: Experiment, project: Project, user) -> bool:
    """Whether the experiment is the user's "0" (no query: slug and name tell)."""
    if experiment.name != DEFAULT_EXPERIMENT_NAME:
        return False
    base = default_project_slug(user)
    return project.slug in (base, f"{base}-{user.pk}")


def experiment_id_for(experiment: Experiment, project: Project, user) -> str:
    """The experiment's MLflow id for this user ("0" for their default experiment)."""
    return DEFAULT_EXPERIMENT_ID if is_default(experiment, project, user) else str(experiment.pk)


# --- Experiments by name, and the project of a new one ----------------------------------

def experiment_by_name(user, name: str) -> Experiment | None:
    """The experiment an MLflow name means to this user, or None.

    Names are unique per project in Targetline and per server in MLflow. A name
    found in several of the user's projects resolves to the one in the project
    named after it, else to the oldest; "project-slug/name" names one explicitly.
    "Default" is the user's experiment "0".
    """
    if name == DEFAULT_EXPERIMENT_NAME:
        experiment = default_experiment(user, create=True)
        return visible_experiments(user).get(pk=experiment.pk)
    candidates = list(visible_experiments(user).filter(name=name).order_by("created_at", "id"))
    if "/" in name:
        slug, _, rest = name.partition("/")
        explicit = visible_experiments(user).filter(project__slug=slug, name=rest).first()
        if explicit is not None:
            return explicit
    if not candidates:
        return None
    named_after = project_slug_for(name)
    for experiment in candidates:
        if experiment.project.slug == named_after:
            return experiment
    return candidates[0]


def project_slug_for(name: str) -> str:
    """The slug of the project an experiment created without a project tag goes to."""
    return re.sub(r"[-_]+", "-", slugify(name)).strip("-")[:90].strip("-") or "experiment"


def _writable_project(user, slug: str) -> Project | None:
    """The project with that slug, when there is one (its `role` None unless the user is a
    member); PERMISSION_DENIED when the user is a member who may not write."""
    project = Project.objects.filter(slug=slug).annotate(role=role_subquery(user, "pk")).first()
    if project is not None and project.role is not None:
        check_write(project.role, "project")
    return project


def tagged_project(user, slug: str) -> Project:
    """The project the tag targetline.project names, where the user must be able to write."""
    project = _writable_project(user, slug)
    if project is None or project.role is None:
        raise not_found(f"no project {slug!r} (named by the tag {PROJECT_TAG}); create it "
                        "in Targetline first or ask its owner to add you")
    return project


def project_for_new_experiment(user, name: str, tags: dict) -> tuple[Project, bool]:
    """Where a new MLflow experiment goes, and whether that project was created for it; the
    user must be able to write there.

    The project named by the tag targetline.project (which must exist), or by a
    "project-slug/" prefix of the name, or else the project named after the
    experiment, created with the user as owner on first use (under a free slug
    when someone else's project already has it).
    """
    if tags.get(PROJECT_TAG):
        return tagged_project(user, tags[PROJECT_TAG]), False
    if "/" in name:
        project = _writable_project(user, name.partition("/")[0])
        if project is not None and project.role is not None:
            return project, False
    base = project_slug_for(name)
    for attempt in range(1, 50):
        slug = base if attempt == 1 else f"{base[:85]}-{attempt}"
        project = _writable_project(user, slug)
        if project is not None and project.role is not None:
            return project, False
        if project is None:
            try:
                with transaction.atomic():
                    return project_services.create_project(user=user, slug=slug,
                                                           name=name[:200]), True
            except (IntegrityError, Conflict):  # the slug was taken concurrently: next one
                continue
    raise invalid(f"could not find a free project slug for experiment {name!r}")


def new_project_tags(user, project: Project, name: str) -> dict:
    """The tags that say an experiment's project was created for it, and which of the
    user's projects its slug (or the "project-slug/" prefix of the name) may be a typo of."""
    tags = {NEW_PROJECT_TAG: "true"}
    meant = [project.slug] + ([name.partition("/")[0]] if "/" in name else [])
    similar = [s for slug in meant
               for s in project_selectors.similar_projects(user=user, slug=slug)]
    similar = [s for s in dict.fromkeys(similar) if s != project.slug]
    if similar:
        tags[SIMILAR_PROJECTS_TAG] = ", ".join(similar)
    return tags


def experiment_name_in(project: Project, name: str) -> str:
    """The experiment's name inside its project ("slug/name" loses its prefix there)."""
    prefix = f"{project.slug}/"
    return name[len(prefix):] if name.startswith(prefix) and len(name) > len(prefix) else name
