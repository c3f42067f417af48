"""The CJK font of report charts: the shipped Noto Sans CJK SC subset, registered with
matplotlib at first use (matplotlib's own DejaVu Sans has no Chinese glyphs)."""

from __future__ import annotations

import threading
from pathlib import Path

FONT_FILE = Path(__file__).parent.parent / "report_fonts" / "NotoSansCJKsc-Regular-GB2312.otf"
# Full CJK fonts a machine may have installed (Debian's fonts-noto-cjk shows up under its first
# face, JP): fallbacks for the characters beyond GB 2312 that the shipped subset lacks.
SYSTEM_FALLBACKS = ("Noto Sans CJK JP", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei")

_lock = threading.Lock()
_families: list[str] | None = None


def font_families() -> list[str]:
    """matplotlib ``font.family``: the shipped font, installed CJK fonts, then DejaVu Sans.
    Registers the shipped font once per process."""
    global _families
    with _lock:
        if _families is None:
            from matplotlib import font_manager

            font_manager.fontManager.addfont(str(FONT_FILE))
            shipped = font_manager.FontProperties(fname=str(FONT_FILE)).get_name()
            # Naming a family that is not installed makes matplotlib warn at every lookup.
            installed = {f.name for f in font_manager.fontManager.ttflist}
            extra = [name for name in SYSTEM_FALLBACKS if name in installed]
            _families = [shipped, *extra, "DejaVu Sans"]
        return list(_families)
