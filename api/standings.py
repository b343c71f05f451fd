"""Where a project stands: the leaderboard on the selection split and the winner."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from api.base import ProjectView
from tracker import phrasing
from tracker.models import Target
from tracker.selectors import winner as winner_selectors
from tracker.validation import to_int


def _run_ref(run) -> dict:
    return {"id": str(run.id), "name": run.name, "experiment": run.experiment.name,
            "baseline": run.baseline,
            "ended_at": run.ended_at.isoformat() if run.ended_at else None}


class WinnerView(ProjectView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary=(
        "The winner: best on the selection split, quoted on the judged split"))
    def get(self, request, slug):
        s = winner_selectors.standing(project=self.project)
        target = s.target
        body = {
            "target": target.as_dict() if target else None,
            "winner": None,
            "selection": None,
            "judged": None,
            "baseline": None,
            "lift": s.lift,
            "guardrails": [
                {**g, "sentence": phrasing.guardrail_sentence(
                    g["metric"], g["actual"], op=g["op"], limit=g["value"], split=g["split"],
                    passed=g["passed"])}
                for g in s.guardrails
            ],
            "sentence": s.sentence,
        }
        if s.winner is not None:
            body["winner"] = _run_ref(s.winner)
            body["selection"] = {"split": target.selected_on, "metric": target.metric,
                                 "value": s.winner_ranked.candidate.selection_value,
                                 "step": s.winner.best_step}
            body["judged"] = {"split": target.judged_on, "metric": target.metric,
                              "value": s.judged_value, "threshold": target.threshold,
                              "direction": target.direction, "met": s.met}
            if s.judged_value is not None:
                body["judged"]["sentence"] = phrasing.metric_sentence(
                    target.metric, s.judged_value, split=target.judged_on,
                    threshold=target.threshold, direction=target.direction,
                    definition=target.definition or None)
        if s.baseline is not None:
            body["baseline"] = {**_run_ref(s.baseline),
                                "selection_value": s.baseline_selection_value,
                                "judged_value": s.baseline_judged_value}
        return Response(body)


class LeaderboardView(ProjectView):
    @extend_schema(parameters=[OpenApiParameter("limit", int, description="default 20")],
                   responses=OpenApiTypes.OBJECT,
                   summary="Finished runs ranked on the selection split; baseline always shown")
    def get(self, request, slug):
        limit = to_int(request.query_params.get("limit") or 20, field="limit", minimum=1)
        target = Target.objects.filter(project=self.project).first()
        ranked = winner_selectors.leaderboard(project=self.project, limit=min(limit, 1000))
        winner_id = next((r.candidate.run_id for r in ranked if r.passes), None)
        return Response({
            "target": target.as_dict() if target else None,
            "results": [
                {"rank": i + 1, "id": str(r.candidate.run_id), "name": r.candidate.name,
                 "baseline": r.candidate.baseline,
                 "value": r.candidate.selection_value,
                 "split": target.selected_on, "metric": target.metric,
                 "passes_guardrails": r.passes, "guardrail_failures": list(r.failures),
                 "winner": r.candidate.run_id == winner_id}
                for i, r in enumerate(ranked)
            ],
        })
