from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import RevealReason


class RevealForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=RevealReason.choices)
    reason_detail = forms.CharField(label=_("Details"), max_length=300, required=False)

    def clean(self):
        data = super().clean()
        if data.get("reason") == RevealReason.OTHER and not data.get("reason_detail", "").strip():
            self.add_error("reason_detail", _("Explain the reason."))
        return data
