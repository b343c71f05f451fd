"""Business results: A/B tests and backtests of a deployment or a run on a business metric,
each with its difference, 95 % interval, verdict and sentence (tracker.impact)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import ProjectView, ScopedView
from api.deployments import RunRefField
from api.production import TAGS
from tracker import impact as impact_rules
from tracker.selectors import impact as impact_selectors
from tracker.services import impact as impact_services
from tracker.validation import to_int

MAX_PAGE = 200

GROUP = {"oneOf": [
    {"type": "object", "required": ["successes", "n"],
     "properties": {"successes": {"type": "integer", "minimum": 0},
                    "n": {"type": "integer", "minimum": 1}}},
    {"type": "object", "required": ["mean", "sd", "n"],
     "properties": {"mean": {"type": "number"}, "sd": {"type": "number", "minimum": 0},
                    "n": {"type": "integer", "minimum": 2}}}],
    "description": 'a rate {"successes": 4402, "n": 6200} or a mean {"mean": 12.4, '
                   '"sd": 3.1, "n": 390}'}


@extend_schema_field(GROUP)
class GroupField(serializers.JSONField):
    """A group handed to the service as sent: it names the field of any mistake
    (control.n, treatment.sd)."""


@extend_schema_field({"type": "integer", "nullable": True,
                      "description": "the id of a deployment of the project"})
class DeploymentRefField(serializers.JSONField):
    """A deployment's id, checked by the service."""


class DifferenceOutput(serializers.Serializer):
    """Treatment minus control, with its 95 % interval."""

    estimate = serializers.FloatField(help_text="for rates, a proportion: 0.05 is 5 points")
    low = serializers.FloatField()
    high = serializers.FloatField()
    method = serializers.ChoiceField(choices=["newcombe", "welch"], help_text="newcombe: "
                                     "Newcombe's hybrid score interval (rates); welch: "
                                     "Welch's interval (means)")


class ImpactOutput(serializers.Serializer):
    """A business result as stored, and what it shows."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=list(impact_rules.KINDS))
    deployment = serializers.IntegerField(allow_null=True)
    run = serializers.UUIDField(allow_null=True, help_text="the run tested (a deployment's "
                                "run)")
    metric = serializers.CharField()
    direction = serializers.ChoiceField(choices=["maximize", "minimize"])
    unit = serializers.CharField()
    control = GroupField()
    treatment = GroupField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    note = serializers.CharField()
    difference = DifferenceOutput()
    verdict = serializers.ChoiceField(choices=[impact_rules.IMPROVEMENT, impact_rules.DECLINE,
                                               impact_rules.NO_DIFFERENCE])
    sentence = serializers.CharField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()


def impact_data(read: impact_selectors.ImpactReading) -> dict:
    result, found = read.result, read.difference
    return {
        "id": result.pk,
        "kind": result.kind,
        "deployment": result.deployment_id,
        "run": str(result.run_id) if result.run_id else None,
        "metric": result.metric,
        "direction": result.direction,
        "unit": result.unit,
        "control": result.control,
        "treatment": result.treatment,
        "started_at": result.started_at.isoformat(),
        "ended_at": result.ended_at.isoformat(),
        "note": result.note,
        "difference": {"estimate": found.estimate, "low": found.low, "high": found.high,
                       "method": found.method},
        "verdict": read.verdict,
        "sentence": read.sentence,
        "created_by": result.created_by.get_username() if result.created_by else "",
        "created_at": result.created_at.isoformat(),
    }


class ImpactListView(ProjectView):
    """The project's business results, the latest end first, a page at a time: pass `next`
    as `before` to read the following page."""

    class Output(serializers.Serializer):
        results = ImpactOutput(many=True)
        next = serializers.IntegerField(allow_null=True, help_text="`before` for the next "
                                        "page, or null")

    @extend_schema(tags=TAGS, summary="List the business results", responses=Output,
                   parameters=[
                       OpenApiParameter("limit", int, description=f"default 50, at most "
                                        f"{MAX_PAGE}"),
                       OpenApiParameter("before", int, description="the `next` of the "
                                        "previous page")])
    def get(self, request, slug):
        limit = min(to_int(request.query_params.get("limit") or 50, field="limit", minimum=1),
                    MAX_PAGE)
        before = request.query_params.get("before")
        page, following = impact_selectors.impact_page(
            project=self.project, limit=limit,
            before=to_int(before, field="before") if before else None)
        return Response({"results": [impact_data(read) for read in page], "next": following})


class ImpactRecordView(ProjectView):
    """Record an A/B test or a backtest of one of the project's deployments or runs on a
    business metric (owners and members): both groups as rates or both as means. The
    answer adds the difference with its 95 % interval, the verdict and the sentence.
    Recorded in the audit log."""

    class Input(serializers.Serializer):
        kind = serializers.ChoiceField(choices=list(impact_rules.KINDS),
                                       help_text="ab_test or backtest")
        deployment = DeploymentRefField(required=False, allow_null=True, default=None,
                                        help_text="the deployment tested (or send run)")
        run = RunRefField(required=False, allow_null=True, default=None,
                          help_text="the run tested (or send deployment)")
        metric = serializers.CharField(help_text='the business metric, as people call it: '
                                       '"first-contact resolution"')
        direction = serializers.ChoiceField(choices=["maximize", "minimize"],
                                            help_text="maximize: higher is better")
        unit = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                     default=None,
                                     help_text='of means, e.g. "minutes"')
        control = GroupField()
        treatment = GroupField(help_text="of the same kind as control")
        started_at = serializers.DateTimeField()
        ended_at = serializers.DateTimeField(help_text="after started_at; exclusive")
        note = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                     default=None)

    @extend_schema(tags=TAGS, summary="Record a business result", request=Input,
                   responses={201: ImpactOutput})
    def post(self, request, slug):
        data = self.validated(self.Input)
        result = impact_services.record_impact(
            project=self.project, user=request.user, kind=data["kind"], metric=data["metric"],
            direction=data["direction"], control=data["control"],
            treatment=data["treatment"], started_at=data["started_at"],
            ended_at=data["ended_at"], deployment_id=data["deployment"], run_id=data["run"],
            unit=data["unit"], note=data["note"], address=self.address)
        return Response(impact_data(impact_selectors.reading(result)),
                        status=status.HTTP_201_CREATED)


class ImpactView(ScopedView):
    """A view under /impact/{id}: sets self.result, self.project and self.role."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.result, self.role = impact_selectors.impact_for_user(
            user=request.user, impact_id=kwargs["impact_id"])
        self.project = self.result.project
        self.check_write(request)


class ImpactDetailView(ImpactView):
    """One business result and what it shows."""

    @extend_schema(tags=TAGS, summary="Read a business result", responses=ImpactOutput)
    def get(self, request, impact_id):
        return Response(impact_data(impact_selectors.reading(self.result)))


class ImpactDeleteView(ImpactView):
    """Delete a business result recorded by mistake (owners and members): 204. The audit
    log keeps what it said."""

    @extend_schema(tags=TAGS, summary="Delete a business result", responses={204: None})
    def delete(self, request, impact_id):
        impact_services.delete_impact(result=self.result, user=request.user,
                                      address=self.address)
        return Response(status=status.HTTP_204_NO_CONTENT)
