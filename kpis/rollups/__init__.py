"""Building the KPI facts and day rollups from the source tables, incrementally and in full.

One module per source (``tickets``, ``orders``, ``surveys``, ``returns``, ``complaints``), each
summing its local days again and knowing which days changed since its last refresh; ``days``
holds what they share (local days, replacing a day's rows at every grain, refresh watermarks);
``refresh`` runs them all, every minute and nightly.
"""
