"""A project's webhooks: its check-in reports and alerts posted to Slack, Microsoft Teams or
any URL (docs/webhooks.md), and each webhook's delivery log.

Owners only, reads included: a Slack or Teams webhook's address is itself a password.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import ProjectView
from api.schema import PAGE_PARAMETERS, results
from reports import selectors, webhooks
from reports.models import ATTEMPT_OUTCOMES, Webhook, WebhookEvent, WebhookKind, WebhookOutcome
from tracker.errors import Forbidden, InvalidInput, NotFound
from tracker.models import Role
from tracker.permissions import can_administer

TAGS = ["Webhooks"]
# The choices, named for the schema (config: api.schema's ENUM_NAME_OVERRIDES).
WEBHOOK_KINDS = WebhookKind.values
WEBHOOK_EVENTS = WebhookEvent.values
WEBHOOK_STATUSES = WebhookOutcome.values
ATTEMPT_OUTCOME_VALUES = [o.value for o in ATTEMPT_OUTCOMES]


class WebhookInput(serializers.Serializer):
    """A webhook: where to post, in which format, which events."""

    url = serializers.CharField(help_text="http or https; a host with a public address "
                                "(unless the server sets WEBHOOK_ALLOW_PRIVATE=true)")
    kind = serializers.ChoiceField(choices=WEBHOOK_KINDS,
                                   help_text="the format of the message")
    events = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS),
                                   help_text="report, target_met, winner_changed, "
                                   "production.below_bar, production.drift")
    active = serializers.BooleanField(required=False, default=True)


class WebhookChangeInput(serializers.Serializer):
    """What may change: the address, the events, whether it is switched on."""

    url = serializers.CharField(required=False)
    events = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS),
                                   required=False)
    active = serializers.BooleanField(required=False)


class WebhookOutput(serializers.Serializer):
    """A webhook (never its secret, which only its creation's answer shows)."""

    id = serializers.IntegerField()
    url = serializers.CharField()
    kind = serializers.ChoiceField(choices=WEBHOOK_KINDS)
    events = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS))
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True)
    last_delivery = serializers.DictField(allow_null=True, help_text="the latest "
                                          "notification: event, status, at")


class WebhookCreatedOutput(WebhookOutput):
    secret = serializers.CharField(help_text="signs every post (X-Targetline-Signature); "
                                   "shown this once: keep it")


class WebhookAttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    at = serializers.DateTimeField()
    outcome = serializers.ChoiceField(choices=ATTEMPT_OUTCOME_VALUES)
    status_code = serializers.IntegerField(allow_null=True, help_text="the receiver's "
                                           "answer; null when none came")
    error = serializers.CharField(allow_null=True)
    duration_ms = serializers.IntegerField()


class WebhookDeliveryOutput(serializers.Serializer):
    """One event told to the webhook, and every attempt at it."""

    id = serializers.IntegerField(help_text="sent as X-Targetline-Delivery")
    event = serializers.ChoiceField(choices=WEBHOOK_EVENTS)
    event_id = serializers.CharField(help_text="e.g. report:12")
    status = serializers.ChoiceField(choices=WEBHOOK_STATUSES)
    attempts = WebhookAttemptOutput(many=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def webhook_data(webhook: Webhook) -> dict:
    latest = webhook.deliveries.order_by("-id").first()
    return {
        "id": webhook.pk, "url": webhook.url, "kind": webhook.kind, "events": webhook.events,
        "active": webhook.active, "created_at": webhook.created_at.isoformat(),
        "created_by": webhook.created_by.get_username() if webhook.created_by else None,
        "last_delivery": ({"event": latest.event, "status": latest.status,
                           "at": latest.created_at.isoformat()} if latest else None),
    }


def delivery_data(delivery) -> dict:
    return {
        "id": delivery.pk, "event": delivery.event, "event_id": delivery.key,
        "status": delivery.status,
        "attempts": [{"number": a.number, "at": a.at.isoformat(), "outcome": a.outcome,
                      "status_code": a.status_code, "error": a.error or None,
                      "duration_ms": a.duration_ms} for a in delivery.attempt_log.all()],
        "next_attempt_at": _iso(delivery.next_attempt_at),
        "delivered_at": _iso(delivery.delivered_at),
        "created_at": delivery.created_at.isoformat(),
    }


class WebhookView(ProjectView):
    """A webhooks operation: owners only, to read as to write."""

    write_role = Role.OWNER

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not can_administer(self.role):
            raise Forbidden(f"your role in this project is {self.role}; only owners may see "
                            "or change its webhooks (their addresses are secrets)")

    def webhook(self, webhook_id) -> Webhook:
        try:
            pk = int(webhook_id)
        except (TypeError, ValueError):
            raise NotFound(f"no webhook {webhook_id!r}", field="webhook") from None
        webhook = (Webhook.objects.filter(project=self.project, pk=pk)
                   .select_related("created_by", "project").first())
        if webhook is None:
            raise NotFound(f"no webhook {webhook_id!r} in this project", field="webhook")
        return webhook

    def body(self) -> dict:
        data = self.unwrapped("webhook")
        if not isinstance(data, dict):
            raise InvalidInput("send the webhook as a JSON object", field=None)
        return data


class WebhookListView(WebhookView):
    """The project's webhooks, oldest first (owners)."""

    @extend_schema(tags=TAGS, summary="List the webhooks",
                   responses=results("WebhookList", WebhookOutput))
    def get(self, request, slug):
        return Response({"results": [webhook_data(w) for w in
                                     selectors.project_webhooks(project=self.project)]})


class WebhookCreateView(WebhookView):
    """Add a webhook (owners): 201 with its secret, shown this once. The address is refused
    (400, field `url`) when its host resolves to a private, loopback, link-local, multicast
    or reserved address, unless the server allows it."""

    @extend_schema(tags=TAGS, summary="Add a webhook", request=WebhookInput,
                   responses={201: WebhookCreatedOutput})
    def post(self, request, slug):
        data = self.body()
        for name in ("url", "kind", "events"):
            if name not in data:
                raise InvalidInput(f"{name} is required", field=name)
        unknown = sorted(set(data) - {"url", "kind", "events", "active"})
        if unknown:
            raise InvalidInput(f"{unknown[0]} is not a field of a webhook; send url, kind, "
                               "events and active", field=unknown[0])
        webhook, secret = webhooks.create_webhook(
            project=self.project, url=data["url"], kind=data["kind"], events=data["events"],
            active=data.get("active", True), user=request.user, address=self.address)
        return Response({**webhook_data(webhook), "secret": secret},
                        status=status.HTTP_201_CREATED)


class WebhookDetailView(WebhookView):
    """One webhook (owners), without its secret."""

    @extend_schema(tags=TAGS, summary="Read a webhook", responses=WebhookOutput)
    def get(self, request, slug, webhook_id):
        return Response(webhook_data(self.webhook(webhook_id)))


class WebhookUpdateView(WebhookView):
    """Change a webhook's url, events or active flag (owners); fields left out keep their
    value. A new address is checked as at creation."""

    @extend_schema(tags=TAGS, summary="Change a webhook", request=WebhookChangeInput,
                   responses=WebhookOutput)
    def patch(self, request, slug, webhook_id):
        webhook = webhooks.update_webhook(webhook=self.webhook(webhook_id), data=self.body())
        return Response(webhook_data(webhook))


class WebhookDeleteView(WebhookView):
    """Remove a webhook and its delivery log (owners): 204. The audit log keeps that it
    existed."""

    @extend_schema(tags=TAGS, summary="Remove a webhook", responses={204: None})
    def delete(self, request, slug, webhook_id):
        webhooks.delete_webhook(webhook=self.webhook(webhook_id), user=request.user,
                                address=self.address)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListView(WebhookView):
    """The webhook's delivery log, newest first, a page at a time (owners): each event told,
    its status (pending, sending, retrying, delivered, failed) and every attempt with the
    receiver's status code, the error and how long it took. Pass `next` as `before`."""

    class Output(serializers.Serializer):
        results = WebhookDeliveryOutput(many=True)
        next = serializers.IntegerField(allow_null=True)

    @extend_schema(tags=TAGS, summary="Read a webhook's delivery log", responses=Output,
                   parameters=PAGE_PARAMETERS)
    def get(self, request, slug, webhook_id):
        webhook = self.webhook(webhook_id)
        limit, before = self.page_query()
        page = selectors.webhook_deliveries(project=self.project, webhook=webhook,
                                            limit=limit + 1, before=before)
        more = len(page) > limit
        page = page[:limit]
        return Response({"results": [delivery_data(d) for d in page],
                         "next": page[-1].pk if more else None})
