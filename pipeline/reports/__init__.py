"""``yuqing report``: daily and weekly HTML reports with charts, saved to files and mailed."""

from pipeline.reports.build import KINDS, Report, build_report, default_end

__all__ = ["KINDS", "Report", "build_report", "default_end"]
