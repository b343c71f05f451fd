"""`manage.py import_mlflow --tracking-uri URL`: copy an MLflow tracking server into
Targetline (api/mlflow/importer.py does the work; docs/mlflow.md, "Moving in from MLflow")."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.mlflow import import_client, importer


class Command(BaseCommand):
    help = (
        "Copy experiments, runs (params, tags, whole metric histories, datasets, artifacts) "
        "and registered models from an MLflow tracking server. Safe to run again: it adds "
        "only what is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tracking-uri", required=True,
                            help="the MLflow tracking server, e.g. http://mlflow.internal:5000")
        parser.add_argument("--experiment", dest="experiments", action="extend", nargs="+",
                            metavar="NAME", default=[],
                            help="import only these experiments (and the registered models "
                                 "made from their runs); all of them when not given")
        parser.add_argument("--project", metavar="SLUG",
                            help="put every experiment into this project (created when "
                                 "missing); by default each goes where an MLflow client's "
                                 "experiment would (docs/mlflow.md)")
        parser.add_argument("--owner", metavar="USER",
                            help="the user who creates the projects, runs and models (default: "
                                 "the only superuser)")
        parser.add_argument("--include-deleted", action="store_true",
                            help="also import deleted experiments and runs (as deleted)")

    def handle(self, *args, tracking_uri: str, experiments: list[str], project: str | None,
               owner: str | None, include_deleted: bool, verbosity: int, **options) -> None:
        self.verbosity = verbosity
        user = self._owner(owner)
        try:
            client = import_client.connect(tracking_uri)
            target = (importer.find_or_create_project(owner=user, slug=project)
                      if project else None)
            job = importer.Importer(client=client, tracking_uri=tracking_uri, owner=user,
                                    project=target, include_deleted=include_deleted,
                                    progress=self.progress)
            job.source_experiments(experiments)  # an unknown name is refused before any copy
        except import_client.ImportRefused as exc:
            raise CommandError(str(exc)) from None
        try:
            summary = job.run(experiments)
        except KeyboardInterrupt:
            self._summary(job.summary, "Interrupted. Imported so far:")
            raise CommandError("interrupted: every run is either whole or absent; run the same "
                               "command again to import the rest") from None
        self._summary(summary, f"Imported from {tracking_uri}:")

    def progress(self, kind: str, text: str) -> None:
        """Where the importer reports each experiment, run and model (stderr; -v0: silent)."""
        if self.verbosity >= 1:
            self.stderr.write(text, style_func=str)

    def _summary(self, summary: importer.Summary, title: str) -> None:
        self.stdout.write(title)
        for line in summary.lines():
            self.stdout.write(f"  {line}")

    def _owner(self, username: str | None):
        User = get_user_model()
        if username:
            user = User.objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"no user {username!r}: create one first (manage.py "
                                   f"createtoken {username})")
            return user
        superusers = list(User.objects.filter(is_superuser=True, is_active=True)[:2])
        if len(superusers) != 1:
            raise CommandError("name the user who will own what is imported: --owner USER")
        return superusers[0]
