"""Forms of the review page: each validates what one row action or the meeting record posts.

The page writes its inputs by hand (a review shows dozens of rows; Django's widget templates would be
most of its rendering time); these forms validate the same names and give each refusal its field.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from tickets.models import BugCluster, ClusterStatus, Priority
from triage.review.models import MeetingItem
from triage.review.selectors.common import Person

DATETIME_INPUT = "%Y-%m-%dT%H:%M"
TRIAGE_STATUSES = [(value, label) for value, label in ClusterStatus.choices if value != ClusterStatus.MERGED]


def _person_field(people: list[Person], *, label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=[("", "— nobody —")] + [(str(p.pk), p.name) for p in people],
        coerce=int,
        empty_value=None,
        required=False,
    )


def user_by_pk(pk: int | None):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=pk).first() if pk else None


class RowTriageForm(forms.Form):
    """Priority, owner, status, fix ETA and workaround of one cluster. Every field is posted with the value
    the row showed (`initial-<name>`), so only what the lead changed is saved."""

    priority = forms.ChoiceField(label="Priority", choices=[("", "—")] + list(Priority.choices), required=False)
    status = forms.ChoiceField(label="Status", choices=TRIAGE_STATUSES)
    fix_eta = forms.DateField(label="Fix ETA", required=False, input_formats=["%Y-%m-%d"])
    workaround = forms.CharField(label="Workaround", required=False, max_length=10_000, strip=True)
    note = forms.CharField(label="Note for support", required=False, max_length=2000, strip=True)

    def __init__(self, *args, people: list[Person], cluster: BugCluster, **kwargs):
        initial = {
            "priority": cluster.priority,
            "owner": cluster.owner_id,
            "status": cluster.status,
            "fix_eta": cluster.fix_eta,
            "workaround": cluster.workaround,
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["owner"] = _person_field([p for p in people if p.can_own_clusters], label="Owner")
        for name in ("priority", "owner", "status", "fix_eta", "workaround"):
            self.fields[name].show_hidden_initial = True

    def changes(self) -> dict:
        """The fields the lead changed, in the services' terms."""
        changed = {}
        for name in self.changed_data:
            if name == "note":
                continue
            value = self.cleaned_data[name]
            changed[name] = user_by_pk(value) if name == "owner" else value
        return changed


class AcknowledgeForm(forms.Form):
    priority = forms.ChoiceField(label="Priority", choices=[("", "—")] + list(Priority.choices), required=False)


class AskForm(forms.Form):
    question = forms.CharField(
        label="Question for support",
        max_length=4000,
        strip=True,
        error_messages={"required": "Write the question for support; it cannot be empty."},
    )


class MarkFixedForm(forms.Form):
    deployed_at = forms.DateTimeField(
        label="Deployed at",
        input_formats=[DATETIME_INPUT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        error_messages={
            "required": "Give the time the fix reached customers, e.g. 2026-02-10T17:30.",
            "invalid": "Write the deploy time as YYYY-MM-DDTHH:MM, e.g. 2026-02-10T17:30.",
        },
    )
    note = forms.CharField(label="Note", required=False, max_length=500, strip=True)

    def clean_deployed_at(self) -> datetime:
        value = self.cleaned_data["deployed_at"]
        if value > timezone.now():
            raise ValidationError("The deploy time cannot be in the future; mark it fixed once it is deployed.")
        return value


class MergeForm(forms.Form):
    duplicate = forms.IntegerField(min_value=1, error_messages={"required": "Choose the duplicate to merge."})

    def clean_duplicate(self) -> BugCluster:
        pk = self.cleaned_data["duplicate"]
        cluster = BugCluster.objects.filter(pk=pk).first()
        if cluster is None:
            raise ValidationError(f"There is no cluster #{pk}.")
        return cluster


class MeetingItemForm(forms.Form):
    """A decision or an action item, optionally owned, due and linked to a cluster (by its number)."""

    kind = forms.ChoiceField(label="Kind", choices=MeetingItem.Kind.choices)
    text = forms.CharField(
        label="What",
        max_length=2000,
        strip=True,
        error_messages={"required": "Write what was decided or what is to be done; it cannot be empty."},
    )
    due_date = forms.DateField(
        label="Due",
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Write the due date as YYYY-MM-DD, e.g. 2026-02-20."},
    )
    cluster = forms.CharField(label="Cluster #", required=False, max_length=20, strip=True)

    def __init__(self, *args, people: list[Person], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"] = _person_field(people, label="Owner")

    def clean_cluster(self) -> BugCluster | None:
        raw = self.cleaned_data["cluster"].lstrip("#").strip()
        if not raw:
            return None
        if not raw.isdigit() or len(raw) > 18:
            raise ValidationError(f"'{raw[:20]}' is not a cluster number; give the number, e.g. 42.")
        cluster = BugCluster.objects.filter(pk=int(raw)).first()
        if cluster is None:
            raise ValidationError(f"There is no cluster #{raw}; give the number of an existing cluster.")
        return cluster

    def clean_owner(self):
        return user_by_pk(self.cleaned_data.get("owner"))


class SendReportForm(forms.Form):
    recipients = forms.CharField(
        label="Send to",
        max_length=2000,
        strip=True,
        error_messages={"required": "Give at least one email address, separated by commas."},
    )

    def clean_recipients(self) -> list[str]:
        addresses = [part.strip() for part in self.cleaned_data["recipients"].replace(";", ",").split(",")]
        addresses = [a for a in addresses if a]
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ValidationError(f"Not an email address: {', '.join(b[:60] for b in bad[:3])}.")
        if not addresses:
            raise ValidationError("Give at least one email address, separated by commas.")
        return list(dict.fromkeys(addresses))
