"""Charts as data for the templates' inline SVG (app/pages/templates/_charts.html): bars
for counts, a line for the concern timeline. Each chart has a title, a description and the
rows of the table that says the same in text, so a screen reader and a printer get it all."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

WIDTH = 600  # the viewBox's width; the SVG scales to its box
LABEL_WIDTH = 170
ROW = 26
LINE_HEIGHT = 180


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: float


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    description: str
    bars: list[Bar]
    height: int
    label_width: int = LABEL_WIDTH


def bars(id_: str, title: str, counted: dict[Any, int], order: Iterable[Any]) -> BarChart:
    """A horizontal bar per value in `order` (zero included), scaled to the largest."""
    rows = [(str(value).replace("_", " "), counted.get(value, 0)) for value in order]
    top = max((n for _, n in rows), default=0) or 1
    span = WIDTH - LABEL_WIDTH - 50
    drawn = [Bar(label, n, i * ROW, round(span * n / top, 1)) for i, (label, n) in enumerate(rows)]
    total = sum(n for _, n in rows)
    most = max(rows, key=lambda r: r[1], default=("", 0))
    description = f"{total} in all" + (f"; the most: {most[0]} ({most[1]})" if most[1] else "")
    return BarChart(id_, title, description, drawn, max(1, len(rows)) * ROW)


@dataclass(frozen=True)
class LineChart:
    id: str
    title: str
    description: str
    points: str  # the polyline's
    height: int
    top: int  # the largest value, at the top of the chart
    first: date | None
    last: date | None
    table: list[tuple[str, int, int, int]]  # month, score, flagged animals, open incidents


def timeline(id_: str, title: str, days: Sequence[Any]) -> LineChart:
    """The total concern score of each day, and a table of each month's last day."""
    top = max((d.total_score for d in days), default=0) or 1
    step = WIDTH / max(1, len(days) - 1)
    points = " ".join(
        f"{i * step:.1f},{LINE_HEIGHT - LINE_HEIGHT * d.total_score / top:.1f}"
        for i, d in enumerate(days)
    )
    months: dict[str, Any] = {}
    for day in days:
        months[day.date.strftime("%Y-%m")] = day  # each month's last day
    table = [
        (month, d.total_score, d.flagged_animals, d.open_incidents) for month, d in months.items()
    ]
    first, last = (days[0].date, days[-1].date) if days else (None, None)
    if days:
        description = (
            f"From {first} to {last}: the total score went from {days[0].total_score} to "
            f"{days[-1].total_score}, at most {max(d.total_score for d in days)}."
        )
    else:
        description = "No day is recorded yet."
    return LineChart(id_, title, description, points, LINE_HEIGHT, top, first, last, table)
