"""Mainland China's public holidays and make-up working days (调休) of a year.

They come from the ``chinesecalendar`` package, which follows the State Council's yearly notice
(published late in the year before): a year the installed package does not know is refused, never
guessed. Names are the package's English ones ("National Day"); a make-up day is named after the
holiday it makes up for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ChinaYear:
    year: int
    holidays: dict[date, str]
    workdays: dict[date, str]


class ChinaYearUnknown(LookupError):
    def __init__(self, year: int, known: list[int], version: str):
        super().__init__(f"chinesecalendar {version} has no data for {year}.")
        self.year, self.known, self.version = year, known, version


def mainland_china_year(year: int) -> ChinaYear:
    """The days off and the make-up working days of ``year``; ``ChinaYearUnknown`` when the
    installed ``chinesecalendar`` has no notice for it."""
    import chinese_calendar

    known = sorted({day.year for day in chinese_calendar.holidays})
    if year not in known:
        raise ChinaYearUnknown(year, known, chinese_calendar.__version__)
    return ChinaYear(
        year=year,
        holidays={d: name for d, name in chinese_calendar.holidays.items() if d.year == year},
        workdays={d: name for d, name in chinese_calendar.workdays.items() if d.year == year},
    )
