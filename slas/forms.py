from django import forms


class ComplianceForm(forms.Form):
    weeks = forms.IntegerField(
        min_value=1, max_value=104, initial=12, help_text="How many weeks back, 1 to 104 (default 12)."
    )
