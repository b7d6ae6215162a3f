"""What the surveys app tells the rest of the platform.

``survey_invitation_recorded``: ``invitation``, a survey invitation that has just gone out to
the customer (status ``sent``, its link valid until ``expires_at``), with its ``token`` (the
credential of ``/api/v1/surveys/{token}/``) and ``url`` (the public survey page). Sent INSIDE the
transaction that marks it sent, for writers whose rows must commit or roll back with it (the
webhook outbox: the storefront may show the survey in its own pages); a receiver writes rows in
that transaction and nothing else.
"""

from django.dispatch import Signal

survey_invitation_recorded = Signal()
