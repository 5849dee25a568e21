"""Browser forms of the tickets app: the agent's report form and the cluster page's forms.

The report form is built from the chosen ticket type's evidence fields, so a
type an admin defines in the admin gets its form and validation without code.
Evidence inputs are named `ev-<key>`: two types sharing a key share the input,
which is how the agent's value survives a change of type.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.forms.utils import ErrorDict
from django.utils import timezone
from django.utils.safestring import mark_safe

from tickets.intake.autofill import USER_AGENT_FACTS, evidence_autofill
from tickets.intake.evidence import evidence_completeness, evidence_validate, is_blank
from tickets.intake.uploads import ALLOWED_TYPES, StashedUpload, max_bytes, upload_from_token, upload_stash
from tickets.labels import choice_label
from tickets.models import (
    OPEN_CLUSTER_STATUSES,
    BugCluster,
    ClusterStatus,
    Customer,
    EvidenceField,
    FeedbackKind,
    FieldKind,
    Priority,
    Requirement,
    Role,
    TicketType,
)
from tickets.roles import filing_kinds_for

EVIDENCE_PREFIX = "ev-"
DATETIME_INPUT = "%Y-%m-%dT%H:%M"
_SUBMISSION_RE = re.compile(r"^[0-9a-f]{32}$")
ACCEPT = ",".join(ALLOWED_TYPES)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by `tickets.intake.uploads` when it is stashed."""

    def clean(self, data, initial=None):
        return [f for f in (data if isinstance(data, (list, tuple)) else [data]) if f]


def parse_pk(raw) -> int | None:
    """A primary key typed into a form or URL, or None when it cannot be one."""
    raw = str(raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


def local_now_input() -> str:
    """Now, in the active (agent's) time zone, as a datetime-local input value."""
    return timezone.localtime(timezone.now()).strftime(DATETIME_INPUT)


def evidence_form_field(field: EvidenceField) -> forms.Field:
    """The input for one evidence field; its value is validated by `tickets.intake.evidence`, not here."""
    attrs = {"data-counted": "1"} if field.requirement != Requirement.OPTIONAL else {}
    if field.requirement == Requirement.REQUIRED:
        attrs["aria-required"] = "true"
    kind = field.kind
    if kind == FieldKind.FILE:
        return forms.FileField(required=False, widget=forms.ClearableFileInput(attrs={**attrs, "accept": ACCEPT}))
    if kind == FieldKind.CHOICE:
        widget = forms.Select(attrs=attrs, choices=[("", "—")] + [(c, choice_label(c)) for c in field.choices])
    elif kind == FieldKind.LONG_TEXT:
        widget = forms.Textarea(attrs={**attrs, "rows": 4})
    elif kind == FieldKind.DATETIME:
        widget = forms.TextInput(attrs={**attrs, "type": "datetime-local"})
    elif kind == FieldKind.URL:
        widget = forms.TextInput(attrs={**attrs, "type": "url", "inputmode": "url"})
    elif kind in (FieldKind.NUMBER, FieldKind.MONEY):
        widget = forms.TextInput(attrs={**attrs, "inputmode": "decimal" if kind == FieldKind.NUMBER else "text"})
    else:
        widget = forms.TextInput(attrs=attrs)
    return forms.CharField(required=False, strip=True, widget=widget, label=field.label, help_text=field.help_text)


class ReportForm(forms.Form):
    """An agent's report: feedback kind, ticket type, the type's evidence, customer, attachments."""

    feedback_kind = forms.ChoiceField(
        label="What is it?", choices=FeedbackKind.choices, initial=FeedbackKind.BUG_REPORT, widget=forms.RadioSelect
    )
    ticket_type = forms.CharField(label="Ticket type", required=False)
    subject = forms.CharField(
        label="Subject",
        required=False,
        max_length=255,
        help_text='One line saying what the customer sees, e.g. "Checkout fails at payment step with PayPal".',
    )
    description = forms.CharField(
        label="Description",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Anything else product should know, in your words.",
    )
    customer = forms.CharField(required=False)
    customer_q = forms.CharField(label="Find the customer", required=False)
    reported_at = forms.DateTimeField(
        label="Reported at",
        required=False,
        input_formats=[DATETIME_INPUT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "data-default-now": "1"}, format=DATETIME_INPUT),
        help_text="When the customer reported it, in your time zone.",
    )
    attachments = MultipleFileField(
        label="Attachments",
        required=False,
        widget=MultipleFileInput(attrs={"accept": ACCEPT, "multiple": True}),
        help_text="Screenshots, console logs or HAR files; several at once if you like.",
    )
    submission_id = forms.CharField(widget=forms.HiddenInput)
    tz = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, types: list[TicketType], **kwargs):
        self.user = user
        self.types = types
        self.uploads: list[StashedUpload] = []
        self.upload_errors: dict[str, list[str]] = {}
        self.evidence: dict = {}
        self.same_bug: BugCluster | None = None
        super().__init__(*args, **kwargs)
        self.allowed_kinds = filing_kinds_for(user) if user is not None else tuple(FeedbackKind.values)
        self.fields["feedback_kind"].choices = [c for c in FeedbackKind.choices if c[0] in self.allowed_kinds]
        self.kind = self._chosen_kind()
        self.ticket_type_obj = self._chosen_type()
        self.evidence_fields = list(self.ticket_type_obj.fields.all()) if self.ticket_type_obj else []
        self.customer_obj = self._chosen_customer()
        if not self.is_bound:
            self.initial["feedback_kind"] = self.kind
            self.initial["ticket_type"] = self.ticket_type_obj.key if self.ticket_type_obj else ""
            self.initial.setdefault("submission_id", uuid.uuid4().hex)
            self.initial.setdefault("reported_at", local_now_input())  # the only time that may default
        for field in self.evidence_fields:
            # Evidence starts empty, date-times too: a value nobody typed would be stored as evidence.
            self.fields[EVIDENCE_PREFIX + field.key] = evidence_form_field(field)
        self.autofilled = self._autofill()

    # --- what the agent chose so far ---------------------------------------
    def _raw(self, name: str) -> str:
        source = self.data if self.is_bound else self.initial
        return str(source.get(name) or "").strip()

    def _chosen_type(self) -> TicketType | None:
        """The chosen type if it belongs to the chosen kind; a kind with a single type needs no choice."""
        key = self._raw("ticket_type")
        chosen = next((t for t in self.types_for_kind if t.key == key), None)
        if chosen is None and len(self.types_for_kind) == 1:
            return self.types_for_kind[0]
        return chosen

    def _chosen_kind(self) -> str:
        """The kind picked first wins; a link that names only a type (?type=...) implies its kind."""
        kind = self._raw("feedback_kind")
        if kind in self.allowed_kinds:
            return kind
        key = self._raw("ticket_type")
        by_type = next((t.feedback_kind for t in self.types if t.key == key), None)
        if by_type in self.allowed_kinds:
            return by_type
        return FeedbackKind.BUG_REPORT if FeedbackKind.BUG_REPORT in self.allowed_kinds else self.allowed_kinds[0]

    @property
    def types_for_kind(self) -> list[TicketType]:
        return [t for t in self.types if t.feedback_kind == self.kind]

    def _chosen_customer(self) -> Customer | None:
        raw = self._raw("customer")
        pk = parse_pk(raw)
        return Customer.objects.filter(pk=pk).first() if pk else None

    @property
    def filled_from_user_agent(self) -> set[str]:
        return set(self.autofilled) & USER_AGENT_FACTS

    @property
    def max_upload_bytes(self) -> int:
        return max_bytes()

    @property
    def subject_typed(self) -> str:
        return self._raw("subject")

    @property
    def description_typed(self) -> str:
        return self._raw("description")

    @property
    def customer_query(self) -> str:
        return self._raw("customer_q")

    def evidence_values(self) -> dict[str, str]:
        """What the agent has entered for the current type's fields (file fields: the file's name)."""
        values = {}
        for field in self.evidence_fields:
            name = EVIDENCE_PREFIX + field.key
            if field.kind == FieldKind.FILE:
                upload = self.upload_for(field.key) or (self.files.get(name) if self.is_bound else None)
                values[field.key] = upload.name if upload else ""
            else:
                values[field.key] = self._raw(name)
        return values

    def _autofill(self) -> dict[str, str]:
        """Fill blank fields from the User-Agent and the customer; the bound data shows them."""
        if not self.is_bound:
            return {}
        filled = evidence_autofill(
            fields=self.evidence_fields, values=self.evidence_values(), customer=self.customer_obj
        )
        if filled:
            self.data = self.data.copy()
            for key, value in filled.items():
                self.data[EVIDENCE_PREFIX + key] = value
        return filled

    def carried_values(self) -> list[tuple[str, str]]:
        """Values typed for fields the current type does not have, kept so switching back restores them."""
        if not self.is_bound:
            return []
        current = {EVIDENCE_PREFIX + f.key for f in self.evidence_fields}
        files = {EVIDENCE_PREFIX + f.key for t in self.types for f in t.fields.all() if f.kind == FieldKind.FILE}
        return [
            (name, value)
            for name, value in self.data.items()
            if name.startswith(EVIDENCE_PREFIX) and name not in current | files and str(value).strip()
        ]

    def completeness(self) -> float:
        return evidence_completeness(fields=self.evidence_fields, values=self.evidence_values())

    def missing_recommended(self) -> list[EvidenceField]:
        values = self.evidence_values()
        return [f for f in self.evidence_fields if f.is_recommended and is_blank(values.get(f.key))]

    # --- uploads -------------------------------------------------------------
    def upload_for(self, key: str) -> StashedUpload | None:
        return next((u for u in self.uploads if u.evidence_key == key), None)

    @property
    def general_uploads(self) -> list[StashedUpload]:
        keys = {f.key for f in self.evidence_fields if f.kind == FieldKind.FILE}
        return [u for u in self.uploads if u.evidence_key not in keys]

    def stash_uploads(self) -> None:
        """Keep the uploads already accepted, and store the new ones that pass the checks."""
        if not self.is_bound:
            return
        tokens = self.data.getlist("pending_upload") if hasattr(self.data, "getlist") else []
        self.uploads = [u for u in (upload_from_token(t, user=self.user) for t in tokens) if u is not None]
        file_keys = {f.key for f in self.evidence_fields if f.kind == FieldKind.FILE}
        for name in self.files:
            key = name[len(EVIDENCE_PREFIX) :] if name.startswith(EVIDENCE_PREFIX) else ""
            if name != "attachments" and key not in file_keys:
                continue
            for file in self.files.getlist(name):
                try:
                    upload = upload_stash(file=file, evidence_key=key, user=self.user)
                except ValidationError as exc:
                    self.upload_errors.setdefault(name, []).extend(exc.messages)
                    continue
                if key:  # a new file for an evidence field replaces the one kept from before
                    self.uploads = [u for u in self.uploads if u.evidence_key != key]
                self.uploads.append(upload)

    def skip_validation(self) -> None:
        """Show the form as typed without error messages (choosing a type, finding a customer)."""
        self._errors = ErrorDict()
        self.cleaned_data = {}

    # --- validation ------------------------------------------------------------
    def clean(self):
        data = super().clean()
        for name, messages in self.upload_errors.items():
            for message in messages:
                self.add_error(name, message)
        if self.types_for_kind and self.ticket_type_obj is None:
            names = ", ".join(t.name for t in self.types_for_kind)
            self.add_error("ticket_type", f"Choose the ticket type: {names}.")
        if not data.get("subject"):
            self.add_error("subject", "A subject is required: one line saying what the customer sees.")
        reported_at = data.get("reported_at")
        if reported_at and reported_at > timezone.now() + timedelta(minutes=5):
            self.add_error("reported_at", "Reported at cannot be in the future.")
        if not _SUBMISSION_RE.match(data.get("submission_id") or ""):
            data["submission_id"] = uuid.uuid4().hex
        try:
            result = evidence_validate(fields=self.evidence_fields, values=self.evidence_values())
            self.evidence = result.values
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                name = EVIDENCE_PREFIX + key.removeprefix("evidence.")
                self.add_error(name if name in self.fields else None, messages)
        self.same_bug = self._same_bug()
        return data

    def _same_bug(self) -> BugCluster | None:
        raw = str(self.data.get("same_bug") or "").strip()
        if not raw:
            return None
        pk = parse_pk(raw)
        cluster = BugCluster.objects.filter(pk=pk, status__in=OPEN_CLUSTER_STATUSES).first() if pk else None
        if cluster is None:
            self.add_error(None, "That known bug is closed or no longer exists; file the report on its own.")
        return cluster


class AnswerForm(forms.Form):
    """Support's answer to product's question on a cluster."""

    message = forms.CharField(
        label="Your answer", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, strip=True
    )


def owner_choices():
    User = get_user_model()
    return (
        User.objects.filter(Q(groups__name=Role.PRODUCT_LEAD) | Q(is_superuser=True))
        .distinct()
        .order_by("first_name", "username")
    )


class ClusterTriageForm(forms.Form):
    """A product lead's status, priority and owner decision on a cluster."""

    prefix = "triage"

    status = forms.ChoiceField(choices=ClusterStatus.choices)
    priority = forms.ChoiceField(choices=[("", "—")] + list(Priority.choices), required=False)
    owner = forms.ModelChoiceField(queryset=None, required=False, empty_label="— nobody —")
    message = forms.CharField(
        label="Note for support (optional)", required=False, max_length=5000, widget=forms.TextInput
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owner_choices()
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.get_username()


class ClusterRespondForm(forms.Form):
    """A product response on a cluster, or a question that asks support for more ("needs info")."""

    prefix = "respond"

    message = forms.CharField(label="Response", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    question = forms.BooleanField(label="This is a question for support (sets Needs info)", required=False)


class ClusterDetailsForm(forms.Form):
    """A product lead's edit of a cluster's descriptive fields.

    Every field is taken as typed and `cluster_update_details` validates them all at once, so
    each refused value gets its message in one round trip. Each field carries its value as the
    page showed it (a hidden initial), so only what the lead changed is saved and an edit made
    meanwhile by someone else to another field is kept.
    """

    prefix = "details"

    title = forms.CharField(label="Title", required=False, widget=forms.TextInput(attrs={"maxlength": 255}))
    summary = forms.CharField(
        label="Summary",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What is going on, in product's words.",
    )
    root_cause = forms.CharField(label="Suspected root cause", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    workaround = forms.CharField(
        label="Workaround",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What support can tell customers meanwhile; agents see it with their reports.",
    )
    fix_eta = forms.CharField(
        label="Fix ETA",
        required=False,
        widget=forms.TextInput(attrs={"type": "date"}),
        help_text="When the fix should reach customers; leave empty if nobody knows yet.",
    )
    engineering_url = forms.CharField(
        label="Engineering issue",
        required=False,
        widget=forms.TextInput(attrs={"type": "url", "inputmode": "url", "maxlength": 500}),
        help_text="Link to the Jira, Linear or GitHub issue (http or https).",
    )
    reproduced = forms.BooleanField(label="Product reproduced the bug", required=False)

    def __init__(self, *args, cluster: BugCluster, **kwargs):
        initial = {
            "title": cluster.title,
            "summary": cluster.summary,
            "root_cause": cluster.root_cause,
            "workaround": cluster.workaround,
            "fix_eta": cluster.fix_eta,
            "engineering_url": cluster.engineering_url,
            "reproduced": cluster.reproduced_at is not None,
        }
        super().__init__(*args, initial=initial, **kwargs)
        for field in self.fields.values():
            field.show_hidden_initial = True

    def changes(self) -> dict:
        """The values the lead changed on the page, ready for `cluster_update_details`."""
        return {name: self.cleaned_data[name] for name in self.changed_data}

    def hidden_initials(self) -> str:
        """The values as the page showed them, posted back so `changes()` can tell what was edited."""
        return mark_safe("".join(bf.as_hidden(only_initial=True) for bf in self))  # each piece is a rendered widget
