"""Report charts as PNG bytes: matplotlib's Agg canvas (no display, no pyplot), with the CJK font
of :mod:`.fonts`."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from datetime import datetime

import matplotlib

# The Agg canvas directly, never pyplot: no display needed, and the backend a notebook that
# calls build_report has chosen stays as it is.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pipeline.reports.fonts import font_families

COLOURS = {
    "negative": "#d9534f",
    "neutral": "#9e9e9e",
    "positive": "#5cb85c",
    "unscored": "#d0d0d0",
}
BAR = "#3b7dd8"
DPI = 100
# rc_context changes matplotlib's process-wide settings: the daemon's daily and weekly report
# jobs may draw at the same moment on two threads, so they take turns.
_drawing = threading.Lock()


def _style() -> dict:
    return {
        "font.family": font_families(),
        "font.size": 10,
        # The ASCII hyphen as minus sign: not every CJK font has U+2212.
        "axes.unicode_minus": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _draw(width: float, height: float, paint) -> bytes:
    with _drawing, matplotlib.rc_context(_style()):
        fig = Figure(figsize=(width, height), layout="constrained")
        paint(fig.add_subplot())
        return _png(fig)


def trend_chart(
    buckets: Sequence[datetime],
    series: dict[str, Sequence[int]],
    labels: dict[str, str],
    title: str,
    hourly: bool,
) -> bytes:
    """Stacked bars per time bucket, one colour per sentiment label."""

    def paint(ax):
        ticks = [b.strftime("%H" if hourly else "%m-%d") for b in buckets]
        positions = range(len(buckets))
        bottom = [0] * len(buckets)
        for name, counts in series.items():
            ax.bar(positions, counts, bottom=bottom, color=COLOURS[name], label=labels[name])
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        step = max(1, len(ticks) // 12)
        ax.set_xticks(list(positions)[::step], ticks[::step])
        ax.set_title(title, loc="left")
        # Above the plot, right of the title: inside it would hide the tallest bars.
        ax.legend(loc="lower right", bbox_to_anchor=(1, 1), frameon=False, ncols=len(series))
        ax.yaxis.get_major_locator().set_params(integer=True)

    return _draw(8, 3.2, paint)


def bar_chart(items: Sequence[tuple[str, int]], title: str, colour: str = BAR) -> bytes:
    """Horizontal bars, the largest on top, each labelled with its count."""

    def paint(ax):
        names = [str(name) for name, _ in reversed(items)]
        counts = [count for _, count in reversed(items)]
        bars = ax.barh(range(len(names)), counts, color=colour)
        ax.set_yticks(range(len(names)), names)
        ax.bar_label(bars, padding=3)
        ax.set_title(title)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.margins(x=0.12)

    return _draw(6, max(1.6, 0.32 * len(items) + 0.9), paint)


def platform_chart(
    rows: Sequence[tuple[str, dict[str, int]]], labels: dict[str, str], title: str
) -> bytes:
    """Per platform, horizontal bars split by sentiment (the platform split of the volume)."""

    def paint(ax):
        names = [name for name, _ in reversed(rows)]
        left = [0] * len(rows)
        for label in ("negative", "neutral", "positive", "unscored"):
            counts = [counts.get(label, 0) for _, counts in reversed(rows)]
            if not any(counts):
                continue
            ax.barh(names, counts, left=left, color=COLOURS[label], label=labels[label])
            left = [a + b for a, b in zip(left, counts, strict=True)]
        ax.set_title(title, loc="left")
        ax.legend(loc="lower right", bbox_to_anchor=(1, 1), frameon=False, ncols=4)
        ax.xaxis.get_major_locator().set_params(integer=True)

    return _draw(6, max(1.6, 0.4 * len(rows) + 1.0), paint)
