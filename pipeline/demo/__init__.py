"""``yuqing demo``: the offline demo of a brand crisis (what ``make demo`` runs)."""

from pipeline.demo.run import run_demo

__all__ = ["run_demo"]
