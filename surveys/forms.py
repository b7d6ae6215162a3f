from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import SCALES
from .services import COMMENT_MAX_LENGTH, score_range_message


class SurveyAnswerForm(forms.Form):
    """The public page's form: one submit button per score, an optional comment."""

    score = forms.TypedChoiceField(coerce=int, choices=())
    comment = forms.CharField(
        label=_("Anything you would like to add? (optional)"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # The page's language; an unknown value falls back to the customer's (see the view).
    lang = forms.CharField(required=False, max_length=8)

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        low, high = SCALES[kind]
        field = self.fields["score"]
        field.choices = [(str(n), str(n)) for n in range(low, high + 1)]
        message = score_range_message(kind)
        field.error_messages = {**field.error_messages, "invalid_choice": message}
        field.error_messages["required"] = message
