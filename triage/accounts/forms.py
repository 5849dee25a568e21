"""Browser forms of customer success: the CSM's intervention and its result."""

from django import forms

from triage.accounts.models import HandoffResult


class InterventionForm(forms.Form):
    prefix = "intervention"

    intervention = forms.CharField(
        label="What you did",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="The call, meeting or offer, with whom and when.",
    )


class ResultForm(forms.Form):
    prefix = "result"

    result = forms.ChoiceField(label="Result", choices=[("", "—"), *HandoffResult.choices])
    note = forms.CharField(label="Note (optional)", required=False, max_length=5000, widget=forms.TextInput)
