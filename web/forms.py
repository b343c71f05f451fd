"""Forms of the web UI. They check types and shapes; the services check the domain rules,
and their errors are put back on the field they name."""

import re
from zoneinfo import available_timezones

from django import forms
from django.forms import BaseFormSet, formset_factory

from reports.models import WebhookEvent, WebhookKind
from tracker.errors import TargetlineError
from tracker.models import Direction, GuardrailOp, Role

SPLIT_HELP = "train, validation, test, or a slice such as test/long_texts"


class NotesForm(forms.Form):
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}),
                            label="Notes", max_length=20_000)


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name")
    description = forms.CharField(required=False, label="Description",
                                  widget=forms.Textarea(attrs={"rows": 3}))


class NewProjectForm(forms.Form):
    slug = forms.CharField(max_length=100, label="Short name (used in URLs)",
                           help_text="lower-case letters and digits with - or _, "
                           "e.g. support-tickets")
    name = forms.CharField(max_length=200, label="Name", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.data.get("create_anyway") is not None:
            self.offer_create_anyway()

    def offer_create_anyway(self) -> None:
        """The box that creates a project whose short name looks like a typo of one of the
        person's projects ("tumour-screen" beside "tumor-screen"), shown once it is asked."""
        self.fields["create_anyway"] = forms.BooleanField(
            required=False, label="It is no typo: create a new project anyway")


# The settings page's lists of the metrics and splits the project's runs logged.
METRICS_LIST, SPLITS_LIST = "project-metrics", "project-splits"


def _listed(name: str) -> forms.TextInput:
    """A text input that offers the values of a datalist of the page as it is typed."""
    return forms.TextInput(attrs={"list": name, "autocomplete": "off"})


class TargetForm(forms.Form):
    metric = forms.CharField(max_length=250, label="Metric", help_text="e.g. f1, accuracy, rmse",
                             widget=_listed(METRICS_LIST))
    direction = forms.ChoiceField(choices=Direction.choices, label="Better is")
    threshold = forms.FloatField(label="Threshold (the agreed bar)")
    judged_on = forms.CharField(max_length=250, initial="test", label="Judged on split",
                                help_text=SPLIT_HELP, widget=_listed(SPLITS_LIST))
    selected_on = forms.CharField(max_length=250, initial="validation",
                                  label="Winners picked on split", help_text=SPLIT_HELP,
                                  widget=_listed(SPLITS_LIST))
    agreed_by = forms.CharField(max_length=200, required=False, label="Agreed by")
    agreed_on = forms.DateField(required=False, label="Agreed on",
                                widget=forms.DateInput(attrs={"type": "date"}))
    definition = forms.CharField(
        required=False, label="Plain-language definition (custom metrics)",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="e.g. {percent} of every 100 churners are caught")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["direction"].choices = [("maximize", "higher (maximize)"),
                                            ("minimize", "lower (minimize)")]

    def as_target(self) -> dict:
        data = dict(self.cleaned_data)
        data["agreed_on"] = data["agreed_on"].isoformat() if data.get("agreed_on") else None
        return data


class GuardrailForm(forms.Form):
    metric = forms.CharField(max_length=250, required=False, label="Metric",
                             widget=_listed(METRICS_LIST))
    split = forms.CharField(max_length=250, required=False, initial="test", label="Split",
                            widget=_listed(SPLITS_LIST))
    op = forms.ChoiceField(choices=GuardrailOp.choices, label="Must be", initial="<=")
    value = forms.FloatField(required=False, label="Value")

    def clean(self):
        data = super().clean()
        if data.get("metric") and data.get("value") is None and not self.errors:
            self.add_error("value", "Give the value the metric is compared with.")
        return data


class BaseGuardrailFormSet(BaseFormSet):
    def kept(self) -> list[forms.Form]:
        """The filled rows not marked for removal, in order: guardrails[i] is the i-th."""
        return [f for f in self.forms
                if f.cleaned_data.get("metric") and not f.cleaned_data.get("DELETE")]

    def as_guardrails(self) -> list[dict]:
        """The kept rows as services.set_guardrails takes them."""
        return [{"metric": f.cleaned_data["metric"], "split": f.cleaned_data["split"] or "test",
                 "op": f.cleaned_data["op"], "value": f.cleaned_data["value"]}
                for f in self.kept()]

    def add_domain_error(self, exc: TargetlineError) -> None:
        """A service's error on the row and field it names (guardrails[1].value), else above
        the rows."""
        found = re.match(r"^guardrails\[(\d+)\]\.(metric|split|value)$", exc.field or "")
        kept = self.kept()
        if found and int(found[1]) < len(kept):
            add_domain_error(kept[int(found[1])], exc, prefix=f"guardrails[{found[1]}].")
        else:  # a formset has no add_error: set what it shows
            self._non_form_errors = self.error_class([exc.message])


GUARDRAILS_PREFIX = "guardrails"
GuardrailFormSet = formset_factory(GuardrailForm, formset=BaseGuardrailFormSet, extra=1,
                                   can_delete=True)


class CostMetricsForm(forms.Form):
    cost_metrics = forms.CharField(
        required=False, label="Measures of cost of this project", max_length=5000,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="besides latency, throughput, model size and memory: metrics guardrails may "
                  "check on the test split, separated by commas, e.g. latency_p95_ms")

    def names(self) -> list[str]:
        return [n for n in re.split(r"[,\s]+", self.cleaned_data["cost_metrics"]) if n]


class GuardrailsForm:
    """The guardrails card's form: the guardrail rows and the project's own measures of cost,
    saved by one call to services.set_guardrails (the costs first, so a new one may be
    checked on test at once)."""

    def __init__(self, data=None, *, guardrails=(), cost_metrics=()):
        self.rows = GuardrailFormSet(data, prefix=GUARDRAILS_PREFIX,
                                     initial=[g.as_dict() for g in guardrails])
        self.costs = CostMetricsForm(data, initial={"cost_metrics": ", ".join(cost_metrics)})
        # A post without the field (an older page, a script) leaves the list as it is.
        self.sets_costs = data is not None and "cost_metrics" in data

    def is_valid(self) -> bool:
        rows_valid = self.rows.is_valid()  # both checked, so both show their errors
        return self.costs.is_valid() and rows_valid

    def as_guardrails(self) -> list[dict]:
        return self.rows.as_guardrails()

    def cost_metrics(self) -> list[str] | None:
        return self.costs.names() if self.sets_costs else None

    def add_domain_error(self, exc: TargetlineError) -> None:
        if (exc.field or "").startswith("cost_metrics"):
            add_domain_error(self.costs, exc)
        else:
            self.rows.add_domain_error(exc)


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150, label="Username")
    role = forms.ChoiceField(choices=Role.choices, label="Role", initial=Role.VIEWER)


class InvitationForm(forms.Form):
    """Invite someone by email with a role (the service checks the address)."""

    prefix = "invite"
    email = forms.CharField(max_length=254, label="Email address",
                            widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=Role.choices, label="Role", initial=Role.VIEWER)


class NewAccountForm(forms.Form):
    """The username and password chosen on an invitation's page (the service checks them
    against the existing users and the password validators)."""

    username = forms.CharField(max_length=150, label="Username", widget=forms.TextInput(
        attrs={"autocomplete": "username", "autocapitalize": "none"}))
    password = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(label="Password, again", strip=False,
                                     widget=forms.PasswordInput(
                                         attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data


class StaffJoinForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, label="Role", initial=Role.VIEWER)


class CheckInForm(forms.Form):
    """A project's check-in schedule and recipients. Only shapes are checked here: the
    schedule and the addresses are validated by reports.checkins.save_checkin, as for the
    API, and its errors are put back on the field they name."""

    cadence = forms.ChoiceField(label="How often", choices=[
        ("weekly", "Weekly, on a weekday"), ("every_n_days", "Every N days"),
        ("monthly", "Monthly, on a day of the month")])
    weekday = forms.ChoiceField(label="Weekday (weekly)", required=False, choices=[
        ("", "—"), *[(str(i), day) for i, day in enumerate(
            ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))]])
    every_n_days = forms.IntegerField(label="Every how many days (every N days)",
                                      required=False)
    starts_on = forms.DateField(label="Counting from (every N days)", required=False,
                                widget=forms.DateInput(attrs={"type": "date"}),
                                help_text="empty: today")
    day_of_month = forms.IntegerField(label="Day of the month (monthly)", required=False,
                                      help_text="1-31; 29-31 mean the last day of shorter months")
    local_time = forms.CharField(label="Local time", max_length=8,
                                 widget=forms.TimeInput(attrs={"type": "time"}),
                                 help_text="the time of day, in the time zone below")
    time_zone = forms.CharField(label="Time zone", max_length=64,
                                widget=forms.TextInput(attrs={"list": "time-zones",
                                                              "autocomplete": "off"}),
                                help_text="an IANA name, e.g. Europe/Paris or UTC")
    recipients = forms.CharField(
        label="Recipients", required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="email addresses or members' usernames, one per line or separated by commas")
    enabled = forms.BooleanField(label="Send check-in reports", required=False)

    def as_checkin(self) -> dict:
        """The form as reports.checkins.save_checkin takes it (every field is set)."""
        data = dict(self.cleaned_data)
        data["recipients"] = [r for r in re.split(r"[,\n]", data["recipients"]) if r.strip()]
        data["starts_on"] = data["starts_on"].isoformat() if data["starts_on"] else None
        return data

    @staticmethod
    def time_zones() -> list[str]:
        return sorted(available_timezones())


class SendNowForm(forms.Form):
    """A report right now: to the check-in's recipients, or as a preview to some addresses."""

    to = forms.CharField(
        label="Only to", required=False, widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="leave empty to send to the recipients; email addresses here get a preview "
                  "and the schedule is left alone")

    def addresses(self) -> list[str]:
        return [a.strip() for a in re.split(r"[,\s]+", self.cleaned_data["to"]) if a.strip()]


class WebhookForm(forms.Form):
    """A webhook to add. Only shapes here: reports.webhooks checks the address, as for the
    API, and its errors are put back on the field they name."""

    url = forms.CharField(
        label="Address", max_length=2000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "url",
                                      "placeholder": "https://hooks.slack.com/services/…"}),
        help_text="the incoming webhook's URL from Slack or Teams, or your own endpoint")
    kind = forms.ChoiceField(label="Format", choices=WebhookKind.choices,
                             initial=WebhookKind.SLACK,
                             help_text="JSON receivers check each post's signature")
    events = forms.MultipleChoiceField(
        label="Tell it when", choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple,
        initial=[WebhookEvent.REPORT, WebhookEvent.TARGET_MET],
        error_messages={"required": "Choose at least one event."})


class TokenForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, label="Token name",
                           help_text="what it is for, e.g. training server")


def add_domain_error(form, exc: TargetlineError, *, prefix: str = "") -> None:
    """Put a service's error on the form field it names (or on the form); a form of forms
    (a formset, the guardrails form) places it itself."""
    if hasattr(form, "add_domain_error"):
        form.add_domain_error(exc)
        return
    if isinstance(form, BaseFormSet):  # a formset has no add_error: set what it shows
        form._non_form_errors = form.error_class([exc.message])
        return
    # "recipients[2]" belongs to the recipients field.
    field = re.sub(r"\[\d+\]$", "", (exc.field or "").removeprefix(prefix))
    field = field if field in form.fields else None
    message = exc.message
    if field is not None:
        # Shown under the field, the message need not name it: "to[0]: 'x' is not…" and
        # "target.threshold: F1 score is…" read "'x' is not…", "F1 score is…".
        message = re.sub(rf"^({re.escape(field)}\[\d+\]|{re.escape(exc.field)}): ", "",
                         message)
    form.add_error(field, message)
