import django_filters

from refunds.choices import ReturnStatus, ReturnType


class ReturnQueueFilter(django_filters.FilterSet):
    """The return queue's query parameters, validated; the selector does the filtering."""

    status = django_filters.MultipleChoiceFilter(choices=ReturnStatus.choices)
    type = django_filters.MultipleChoiceFilter(choices=ReturnType.choices)
    order = django_filters.CharFilter(max_length=40, help_text="An order number.")
    needs_supervisor = django_filters.ChoiceFilter(
        choices=[(v, v) for v in ("1", "0", "true", "false")],
        help_text="`1`: approvals an agent proposed that wait for a supervisor, and payouts "
        "that failed for good.",
    )
