"""Where a project stands: the winner and the leaderboard on the selection split."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ProjectView
from api.schema import MetricValue
from api.targets import TargetOutput, target_answer, target_data
from tracker import phrasing, winner_sentences
from tracker.selectors import winner as winner_selectors
from tracker.validation import to_int

TAGS = ["Winner and leaderboard"]
MAX_LEADERBOARD = 1000


class RunRefOutput(serializers.Serializer):
    """A run, named."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    experiment = serializers.CharField()
    baseline = serializers.BooleanField()
    ended_at = serializers.DateTimeField(allow_null=True)


class BaselineOutput(RunRefOutput):
    """The strongest finished baseline: the status quo the winner is compared with."""

    selection_value = MetricValue(allow_null=True)
    judged_value = MetricValue(allow_null=True)


class SelectionOutput(serializers.Serializer):
    """Why the winner won: its value on the selection split, at its best step."""

    split = serializers.CharField()
    metric = serializers.CharField()
    value = MetricValue()
    step = serializers.IntegerField(allow_null=True)


class JudgedOutput(serializers.Serializer):
    """The winner's value on the judged split, against the threshold."""

    split = serializers.CharField()
    metric = serializers.CharField()
    value = MetricValue(allow_null=True)
    threshold = serializers.FloatField()
    direction = serializers.ChoiceField(choices=["maximize", "minimize"])
    met = serializers.BooleanField(allow_null=True)
    sentence = serializers.CharField(required=False, help_text="when the value is known")
    judged_at_step = serializers.IntegerField(
        allow_null=True, help_text="the step the value was logged at: the winner's best step "
        "when it logged the judged split there, else the step of its last value there")
    best_step = serializers.IntegerField(allow_null=True, help_text="the winner's best step "
                                         "on the selection split")
    step_note = serializers.CharField(
        allow_null=True, help_text="for engineers, when judged_at_step and best_step differ: "
        '"The test figure was logged at step 29; validation peaked at step 0."')


class GuardrailCheckOutput(serializers.Serializer):
    """A guardrail checked on the winner."""

    metric = serializers.CharField()
    split = serializers.CharField()
    op = serializers.CharField()
    value = serializers.FloatField(help_text="the limit")
    actual = MetricValue(allow_null=True)
    passed = serializers.BooleanField()
    sentence = serializers.CharField()


class LeaderboardEntryOutput(serializers.Serializer):
    """A finished run's place on the selection split."""

    rank = serializers.IntegerField()
    id = serializers.UUIDField()
    name = serializers.CharField()
    baseline = serializers.BooleanField()
    value = MetricValue(allow_null=True)
    split = serializers.CharField()
    metric = serializers.CharField()
    passes_guardrails = serializers.BooleanField()
    guardrail_failures = serializers.ListField(child=serializers.CharField())
    winner = serializers.BooleanField()


def _run_ref(run) -> dict:
    return {"id": str(run.id), "name": run.name, "experiment": run.experiment.name,
            "baseline": run.baseline,
            "ended_at": run.ended_at.isoformat() if run.ended_at else None}


def _judged(s: winner_selectors.Standing) -> dict:
    target = s.target
    best_step = s.winner.best_step
    judged = {"split": target.judged_on, "metric": target.metric, "value": s.judged_value,
              "threshold": target.threshold, "direction": target.direction, "met": s.met,
              "judged_at_step": s.judged_step, "best_step": best_step,
              "step_note": winner_sentences.judged_step_sentence(
                  judged_split=target.judged_on, selected_split=target.selected_on,
                  judged_at_step=s.judged_step, best_step=best_step)}
    if s.judged_value is not None:
        judged["sentence"] = phrasing.metric_sentence(
            target.metric, s.judged_value, split=target.judged_on,
            threshold=target.threshold, direction=target.direction,
            definition=target.definition or None)
    return judged


def standing_data(s: winner_selectors.Standing) -> dict:
    target = s.target
    body = {
        "target": target_answer(target),
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
        body["judged"] = _judged(s)
    if s.baseline is not None:
        body["baseline"] = {**_run_ref(s.baseline),
                            "selection_value": s.baseline_selection_value,
                            "judged_value": s.baseline_judged_value}
    return body


class WinnerView(ProjectView):
    """The best finished run on the selection split that passes every guardrail, quoted on
    the judged split against the threshold, with the baseline, the lift over it and a
    sentence a manager can read. Without a target or a winner, `winner` is null and the
    sentence says why."""

    class Output(serializers.Serializer):
        target = TargetOutput(allow_null=True)
        winner = RunRefOutput(allow_null=True)
        selection = SelectionOutput(allow_null=True)
        judged = JudgedOutput(allow_null=True)
        baseline = BaselineOutput(allow_null=True)
        lift = MetricValue(allow_null=True, help_text="the winner's judged value minus the "
                           "baseline's, signed so that positive is better")
        guardrails = GuardrailCheckOutput(many=True)
        sentence = serializers.CharField()

    @extend_schema(tags=TAGS, summary="Read the winner", responses=Output)
    def get(self, request, slug):
        return Response(standing_data(winner_selectors.standing(project=self.project)))


class LeaderboardView(ProjectView):
    """Finished runs ranked on the selection split, with the guardrails each fails; the
    best baseline is always listed."""

    class Output(serializers.Serializer):
        target = TargetOutput(allow_null=True)
        results = LeaderboardEntryOutput(many=True)

    @extend_schema(tags=TAGS, summary="Read the leaderboard",
                   parameters=[OpenApiParameter("limit", int, description=f"default 20, at "
                                                f"most {MAX_LEADERBOARD}")],
                   responses=Output)
    def get(self, request, slug):
        limit = to_int(request.query_params.get("limit") or 20, field="limit", minimum=1)
        target = target_data(self.project)
        ranked = winner_selectors.leaderboard(project=self.project,
                                              limit=min(limit, MAX_LEADERBOARD))
        winner_id = next((r.candidate.run_id for r in ranked if r.passes), None)
        return Response({
            "target": target,
            "results": [
                {"rank": i + 1, "id": str(r.candidate.run_id), "name": r.candidate.name,
                 "baseline": r.candidate.baseline,
                 "value": r.candidate.selection_value,
                 "split": target["selected_on"], "metric": target["metric"],
                 "passes_guardrails": r.passes, "guardrail_failures": list(r.failures),
                 "winner": r.candidate.run_id == winner_id}
                for i, r in enumerate(ranked)
            ],
        })
