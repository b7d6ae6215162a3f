"""Which language to ask a customer in: the one they wrote to us in, else the default (the
rule every message to customers follows, in ``tickets.languages``)."""

from tickets.languages import language_for_customer, language_of_text

__all__ = ["language_for_customer", "language_of_text"]
