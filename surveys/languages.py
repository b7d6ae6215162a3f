"""Which language to ask a customer in: the one they wrote to us in, else the default (the
rule every message to customers follows, in ``tickets.languages``)."""

from csplatform.languages import language_of_text
from tickets.languages import language_for_customer

__all__ = ["language_for_customer", "language_of_text"]
