"""Signals the tracking domain sends, so other apps can react without tracker importing them."""

from django.dispatch import Signal

# Sent after a run finished (services.runs.finish_run) or a run got new results
# (services.metrics.log_batch), with `run=` the run as stored. The best model can only
# change then; the reports app checks its alerts (target met, new best model) when the run
# has ended.
run_results_changed = Signal()

# Sent after a project's target or guardrails changed (services.targets.set_target,
# set_guardrails), with `project=`. Which run is best, and whether the target is met, can
# change then without any run changing; the reports app checks its alerts.
target_changed = Signal()

# Sent before a project in the trash is purged (services.trash.purge_expired), with
# `project=`. Each receiver returns the names of the files in default storage that go with
# it (the reports' PDFs); they are removed once the project's rows are gone.
project_purging = Signal()

# Sent after a deployment's live figures may have changed the production answer: a live
# result or a live profile of a window stored (services.deployments.record_live_result,
# services.production.record_live_profile), or the reference profile of a deployed run
# replaced (services.production.record_run_profile), with `project=`. The reports app checks
# the production alerts (below the bar, significant drift).
production_changed = Signal()
