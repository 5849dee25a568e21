"""Browser forms of feedback routing: an owner's response and closing outcome, product's decision on a request."""

from __future__ import annotations

from django import forms

from tickets.models import FeatureDecision, FeedbackOutcome


class FeedbackRespondForm(forms.Form):
    """An owner's answer to the agent who filed the feedback."""

    prefix = "respond"

    message = forms.CharField(
        label="Response to the agent",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="The agent sees it with their report and can pass it on to the customer.",
    )


class FeedbackCloseForm(forms.Form):
    """Close with an outcome, optionally with a last word for the agent."""

    prefix = "close"

    outcome = forms.ChoiceField(label="Outcome", choices=[("", "—"), *FeedbackOutcome.choices])
    message = forms.CharField(
        label="Last word for the agent (optional)", required=False, max_length=5000, widget=forms.TextInput
    )


class FeatureDecisionForm(forms.Form):
    """Product's decision on a feature request; `feature_request_decide` checks quarter and reason."""

    prefix = "decision"

    decision = forms.ChoiceField(label="Decision", choices=[("", "—"), *FeatureDecision.choices])
    quarter = forms.CharField(
        label="Quarter (planned only)",
        required=False,
        max_length=7,
        widget=forms.TextInput(attrs={"placeholder": "2027-Q1", "pattern": r"\d{4}-[Qq][1-4]"}),
        help_text="When it is planned for, as YYYY-QN.",
    )
    reason = forms.CharField(
        label="Reason (required when rejected)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The help desk passes it on to the customers who asked.",
    )
