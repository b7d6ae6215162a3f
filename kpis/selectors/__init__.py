"""The KPI figures for a slice: read by the dashboard, the API and the CSV export alike.

Ticket figures come from the day rollups (sums and histograms; the coarsest rollup that holds
the slice, one aggregate query per table or chart); survey, complaint, return and order figures
from bounded aggregate queries on their own tables (indexed on their period column). No query
returns more rows than a chart or a table shows; the formulas are in ``kpis.definitions``.

``slices`` (the slice and its filters), ``rollup_sums`` (sums of a rollup over a slice), one
module per source (``tickets``, ``surveys``, ``commerce``), ``period`` (the figures, trend and
tables of a period) and ``live`` (the live board: open tickets and agents now).
"""
