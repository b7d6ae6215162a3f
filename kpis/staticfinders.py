"""Serve plotly.js from the installed ``plotly`` package as ``kpis/plotly.min.js``.

The charting library comes from its package (pinned in requirements.lock), never copied
into the repository; ``collectstatic`` picks it up like any other static file.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

STATIC_NAME = "kpis/plotly.min.js"


def plotly_bundle() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(plotly_bundle().parent))
        self.storage.prefix = "kpis"

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path != STATIC_NAME:
            return [] if find_all else None
        bundle = str(plotly_bundle())
        return [bundle] if find_all else bundle

    def list(self, ignore_patterns):
        yield "plotly.min.js", self.storage
