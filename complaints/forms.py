"""The desk's complaint forms: what an agent types in the complaint panel."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import ComplaintCategory, RemedyType, ResponsibleParty, Severity


class ClassifyForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=ComplaintCategory.choices)


class GradeForm(forms.Form):
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=1000)


class EscalateForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        error_messages={"required": _("Say why the complaint is escalated.")},
    )


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Investigation note"),
        max_length=5000,
        error_messages={"required": _("Write the note.")},
    )


class FindingsForm(forms.Form):
    root_cause = forms.CharField(label=_("Root cause"), required=False, max_length=500)
    responsible_party = forms.ChoiceField(
        label=_("Responsible party"),
        choices=[("", "—"), *ResponsibleParty.choices],
        required=False,
    )


class PlanForm(forms.Form):
    plan = forms.CharField(
        label=_("Handling plan"),
        max_length=5000,
        error_messages={"required": _("Write the handling plan.")},
    )


class RemedyForm(forms.Form):
    remedy_type = forms.ChoiceField(label=_("Remedy"), choices=RemedyType.choices)
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class ConfirmedElsewhereForm(forms.Form):
    note = forms.CharField(
        label=_("How the customer confirmed"),
        max_length=1000,
        error_messages={"required": _("Say how the customer confirmed.")},
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        error_messages={"required": _("Say why the complaint reopens.")},
    )


class StartComplaintForm(forms.Form):
    """An agent files a complaint the customer raised on an ordinary ticket."""

    category = forms.ChoiceField(label=_("Category"), choices=ComplaintCategory.choices)
    description = forms.CharField(
        label=_("What the customer complains about"),
        max_length=5000,
        error_messages={"required": _("Describe the complaint.")},
    )
