"""Demo data: a believable year of a shop's orders, tickets, returns, complaints and surveys.

It sits above every domain app (it reads and writes all of them), so the shared kernel and the
apps stay free of it; ``manage.py seed_demo`` runs it. Rows are written in batches, and what the
engines would have decided (SLA clocks, transitions, routing) is asked of the engines' own pure
rules rather than restated.
"""
