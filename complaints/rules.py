"""Severity grading and repeat detection of a new complaint.

``grade`` is pure: it takes the facts and the admin-edited ``SeverityRules`` and returns the
severity with the codes of every rule that applied (shown on the desk):

- ``critical`` for a privacy, safety or legal threat (the ``privacy`` category or a keyword
  of the rules in the description) and for the customer's Nth complaint within the repeat
  window (N = ``critical_complaint_count``, 3 by default);
- ``major`` for a VIP customer, an order amount above ``amount_limit``, and a repeat
  complaint (same order, or same category within the window);
- ``minor`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .choices import ComplaintCategory, Severity
from .models import Complaint

PRIVACY, SAFETY, LEGAL = "privacy", "safety", "legal_threat"
NTH_COMPLAINT, VIP, AMOUNT, REPEAT = "nth_complaint", "vip", "amount_above_limit", "repeat"
CRITICAL_REASONS = (PRIVACY, SAFETY, LEGAL, NTH_COMPLAINT)


@dataclass(frozen=True)
class Grading:
    severity: str
    reasons: list[str]


def _mentions(text: str, keywords) -> bool:
    lowered = text.lower()
    return any(k and str(k).lower() in lowered for k in keywords or [])


def grade(
    *,
    rules,
    category: str,
    description: str,
    customer_tier: str,
    amount: Decimal | None,
    earlier_in_window: int,
    is_repeat: bool,
) -> Grading:
    """``earlier_in_window``: the customer's complaints filed within the window before this."""
    reasons = []
    if category == ComplaintCategory.PRIVACY or _mentions(description, rules.privacy_keywords):
        reasons.append(PRIVACY)
    if _mentions(description, rules.safety_keywords):
        reasons.append(SAFETY)
    if _mentions(description, rules.legal_keywords):
        reasons.append(LEGAL)
    if rules.critical_complaint_count and earlier_in_window + 1 >= rules.critical_complaint_count:
        reasons.append(NTH_COMPLAINT)
    if customer_tier == "vip":
        reasons.append(VIP)
    if amount is not None and amount > rules.amount_limit:
        reasons.append(AMOUNT)
    if is_repeat:
        reasons.append(REPEAT)
    if any(r in CRITICAL_REASONS for r in reasons):
        severity = Severity.CRITICAL
    elif reasons:
        severity = Severity.MAJOR
    else:
        severity = Severity.MINOR
    return Grading(severity=severity, reasons=reasons)


def window_start(rules, now: datetime) -> datetime:
    return now - timedelta(days=rules.repeat_window_days)


def earlier_repeats(*, customer, order, category: str, rules, now: datetime, exclude_id=None):
    """The customer's earlier complaints this one repeats: about the same order (at any
    time), or of the same category within the repeat window."""
    from django.db.models import Q

    same = Q(category=category, created_at__gte=window_start(rules, now))
    if order is not None:
        same |= Q(order=order)
    found = Complaint.objects.filter(customer=customer, created_at__lte=now).filter(same)
    if exclude_id is not None:
        found = found.exclude(pk=exclude_id)
    return found.order_by("created_at", "id")
