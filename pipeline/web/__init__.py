"""``yuqing web``: a small token-protected dashboard (FastAPI, Jinja2 pages, ECharts served
locally) over the same query, stats, export and incident functions the CLI uses."""

from pipeline.web.app import create_app

__all__ = ["create_app"]
