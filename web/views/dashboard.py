"""A project's dashboard: where it stands against its target, and how it got there."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from tracker import phrasing, winner_rules
from tracker.models import Run
from tracker.selectors import deployments as deployment_selectors
from tracker.selectors import projects as project_selectors
from tracker.selectors import runs as run_selectors
from tracker.selectors import targets as target_selectors
from tracker.selectors import winner as winner_selectors
from web import charts, links, presenters
from web.permissions import page, project_access
from web.project_verdict import project_verdict
from web.visibility import ResultVisibility

DASHBOARD_DOTS = 2000  # runs drawn as dots on the best-so-far chart (all improvements are kept)
LEADERBOARD_SIZE = 20
DEPLOYMENTS_SHOWN = 10  # the latest of the timeline; the API lists every one


def _leaderboard(project, criteria, standing, visibility) -> list[dict]:
    """The top runs on the selection split, each with its run and place; the winner marked.
    Each failed guardrail is a reason, its value left out where the run's value on that
    split is hidden (a guardrail on the test split)."""
    board = winner_selectors.leaderboard(project=project, limit=LEADERBOARD_SIZE,
                                         criteria=criteria)
    board_runs = {r.id: r for r in Run.objects.filter(
        id__in=[b.candidate.run_id for b in board]).select_related("experiment")}
    winner_id = standing.winner.id if standing.winner else None
    rules = list(criteria.rules)
    rows = []
    for i, b in enumerate(board, start=1):
        failed = [(rule, value, visibility.shows(b.candidate.run_id, rule.split, rule.metric))
                  for rule, value in winner_rules.failed_guardrails(b.candidate, rules)]
        # The baseline listed after the top 20 has no place number: its rank was not worked out.
        rows.append({"rank": i if i <= LEADERBOARD_SIZE else None,
                     "run": board_runs.get(b.candidate.run_id), "ranked": b,
                     "is_winner": b.candidate.run_id == winner_id,
                     "reasons": [winner_rules.failure_text(rule, value, value_shown=shown)
                                 for rule, value, shown in failed],
                     "hides": any(winner_rules.usable(value) and not shown
                                  for _, value, shown in failed)})
    return rows


@page
@require_GET
def dashboard(request, slug):
    """Target card, where the project stands, best so far over time, leaderboard, recent
    runs and experiments."""
    access = project_access(request, slug)
    project = access.project
    # Read once for the whole page: the target and guardrails, where the project stands,
    # and the best-so-far replay (the chart's, the verdict's history and which runs'
    # test values a page may quote).
    criteria = target_selectors.read_criteria(project=project)
    standing = winner_selectors.standing(project=project, criteria=criteria)
    target = standing.target
    progress = (winner_selectors.best_so_far(project=project, keep=DASHBOARD_DOTS,
                                             criteria=criteria)
                if target is not None else None)
    visibility = ResultVisibility(request, project, criteria=criteria, standing=standing,
                                  progress=progress)
    leaderboard = _leaderboard(project, criteria, standing, visibility)
    guardrails = list(criteria.guardrails)
    guardrail_sentences = [
        phrasing.guardrail_sentence(g["metric"], g["actual"], op=g["op"], limit=g["value"],
                                    split=g["split"], passed=g["passed"])
        for g in standing.guardrails
    ]
    return render(request, "web/dashboard.html", {
        "access": access, "project": project, "standing": standing, "target": target,
        "verdict": project_verdict(project=project, standing=standing, progress=progress),
        "progress": presenters.progress(standing.judged_value, target.threshold,
                                        target.direction) if target else None,
        "headline": presenters.target_headline(target) if target else "",
        "meaning": presenters.target_meaning(target) if target else "",
        "result": presenters.target_result(standing) if target else "",
        "guardrails": guardrails,
        "guardrail_phrases": presenters.guardrail_phrases(guardrails),
        "guardrail_sentences": guardrail_sentences,
        # a target or guardrail metric no run logs, a stored guardrail that is not applied
        "target_warnings": [*target_selectors.target_warnings(project=project, criteria=criteria),
                            *target_selectors.guardrail_warnings(project=project,
                                                                 criteria=criteria)],
        "history": presenters.change_history(
            project_selectors.target_history(project=project)[:presenters.HISTORY_SHOWN]),
        "leaderboard": leaderboard,
        "leaderboard_hidden": [str(row["ranked"].candidate.run_id) for row in leaderboard
                               if row["hides"]],
        "judged_phrase": phrasing.split_phrase(target.judged_on) if target else "",
        "this_url": request.get_full_path(),
        "recent": run_selectors.recent_runs(project=project, limit=8),
        "experiments": [
            {"experiment": e,
             "runs_url": links.runs_url(project, presenters.experiment_filter(e.name))}
            for e in project_selectors.experiments_overview(project=project)],
        "chart": charts.progress_chart(
            target=target, judged=standing.judged_value, winner=standing.winner,
            progress=progress) if target is not None else None,
        "run_count": Run.objects.live().filter(project=project).count(),
        "live": deployment_selectors.live_deployment(project=project),
        "deployments": list(deployment_selectors.project_deployments(
            project=project)[:DEPLOYMENTS_SHOWN + 1]),
        "deployments_shown": DEPLOYMENTS_SHOWN,
    })
