"""Forms of the fix-impact page: mark a cluster fixed (with the deploy time) and verify a fix."""

from django import forms


class MarkFixedForm(forms.Form):
    deployed_at = forms.DateTimeField(
        label="Fix deployed at",
        help_text="When the fix reached customers, in the organisation's time zone. It may be in the past.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        error_messages={"invalid": "Enter the deploy date and time, e.g. 2026-03-14 16:30."},
    )
    message = forms.CharField(
        label="Note", required=False, max_length=500, help_text="Optional: release or pull request."
    )


class VerifyForm(forms.Form):
    support_confirmation = forms.BooleanField(
        label="Support confirms customers no longer report this problem",
        required=False,
    )
