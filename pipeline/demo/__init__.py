"""``yuqing demo``: the offline demo (what ``make demo`` runs)."""

from pipeline.demo.quick import run_demo

__all__ = ["run_demo"]
