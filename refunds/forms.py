"""The desk's return forms: what an agent types on the ticket page."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import ReturnReason, ReturnType


class StartReturnForm(forms.Form):
    """Type, reason and a note; the quantities come as ``qty-<order line id>`` fields."""

    type = forms.ChoiceField(label=_("Type"), choices=ReturnType.choices)
    reason = forms.ChoiceField(label=_("Reason"), choices=ReturnReason.choices)
    description = forms.CharField(label=_("Note"), required=False, max_length=5000)

    def __init__(self, data, *, order_lines):
        super().__init__(data)
        self.order_lines = list(order_lines)

    def clean(self):
        cleaned = super().clean()
        lines = []
        for line in self.order_lines:
            raw = (self.data.get(f"qty-{line.pk}") or "").strip()
            if not raw or raw == "0":
                continue
            if not raw.isdigit():
                raise forms.ValidationError(_("Quantities are whole numbers."))
            lines.append((line.sku, int(raw)))
        if not lines:
            raise forms.ValidationError(_("Enter a quantity for at least one line."))
        cleaned["lines"] = lines
        return cleaned


class DecisionForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        error_messages={"required": _("Say why the request is rejected.")},
    )


class InspectForm(forms.Form):
    passed = forms.TypedChoiceField(
        label=_("Outcome"),
        choices=[("yes", _("Passed")), ("no", _("Failed"))],
        coerce=lambda value: value == "yes",
    )
    notes = forms.CharField(label=_("Notes"), required=False, max_length=500)


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=12, decimal_places=2, min_value=Decimal("0.01")
    )
