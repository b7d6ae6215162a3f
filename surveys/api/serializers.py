from rest_framework import serializers

from csplatform.api.strict import StrictSerializer
from surveys.choices import InvitationStatus, SurveyKind, SurveyLanguage
from surveys.services import COMMENT_MAX_LENGTH, score_range_message


class SurveyOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SurveyKind.choices)
    question = serializers.CharField()
    scale_min = serializers.IntegerField()
    scale_max = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    answered = serializers.BooleanField()
    language = serializers.ChoiceField(choices=SurveyLanguage.choices)
    comment_max_length = serializers.IntegerField()


class SurveyAnswerInputSerializer(StrictSerializer):
    score = serializers.IntegerField(
        help_text="1–5 for csat and complaint surveys, 0–10 for nps (see scale_min/scale_max)."
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=COMMENT_MAX_LENGTH, default=""
    )

    def __init__(self, *args, kind: str = SurveyKind.CSAT, scale=(1, 5), **kwargs):
        super().__init__(*args, **kwargs)
        self.scale = scale
        message = score_range_message(kind)
        score = self.fields["score"]
        score.error_messages = {
            **score.error_messages,
            "invalid": message,
            "required": message,
            "null": message,
        }

    def validate_score(self, value: int) -> int:
        low, high = self.scale
        if not low <= value <= high:
            raise serializers.ValidationError(self.fields["score"].error_messages["invalid"])
        return value


class SurveyAnswerOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SurveyKind.choices)
    score = serializers.IntegerField()
    comment = serializers.CharField()
    answered_at = serializers.DateTimeField()


class SurveyLinkSerializer(serializers.Serializer):
    """What the storefront needs to show a survey in its own pages."""

    kind = serializers.ChoiceField(choices=SurveyKind.choices)
    status = serializers.ChoiceField(
        choices=[
            (s, s)
            for s in (InvitationStatus.SENT, InvitationStatus.ANSWERED, InvitationStatus.EXPIRED)
        ]
    )
    token = serializers.CharField(help_text="For GET/POST /api/v1/surveys/{token}/.")
    url = serializers.URLField(help_text="The public survey page.")
    language = serializers.ChoiceField(choices=SurveyLanguage.choices)
    sent_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    answered = serializers.BooleanField()
