"""Prometheus metrics for the daemon, read from the database at scrape time.

The database is the one place every process (daemon, cron commands, crawler subprocesses, other
machines) records what it did, so a collector that queries it reports the whole installation,
not just this process.
"""

from __future__ import annotations

from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from storage import status
from storage.db import Store


class YuqingCollector(Collector):
    def __init__(self, store: Store):
        self.store = store

    def collect(self):
        totals = status.crawl_totals(self.store)
        items = CounterMetricFamily(
            "yuqing_crawl_items", "Items stored by crawls", labels=["spider"]
        )
        errors = CounterMetricFamily("yuqing_crawl_errors", "Crawl errors", labels=["spider"])
        runs = CounterMetricFamily(
            "yuqing_crawl_runs", "Finished crawl runs", labels=["spider", "status"]
        )
        for row in totals:
            items.add_metric([row["spider"]], row["items"])
            errors.add_metric([row["spider"]], row["errors"])
            runs.add_metric([row["spider"], row["status"]], row["runs"])
        yield from (items, errors, runs)

        mentions = CounterMetricFamily("yuqing_mentions_stored", "Mentions in the database")
        mentions.add_metric([], status.mention_count(self.store))
        yield mentions

        streak = GaugeMetricFamily(
            "yuqing_source_failed_runs_in_a_row",
            "Consecutive failed runs",
            labels=["spider", "topic"],
        )
        layout = GaugeMetricFamily(
            "yuqing_source_layout_failed_runs_in_a_row",
            "Consecutive runs with pages that parsed to nothing (page layout changed?)",
            labels=["spider", "topic"],
        )
        for source in status.source_health(self.store):
            labels = [source["spider"], source["topic"] or ""]
            streak.add_metric(labels, source["failed_in_a_row"])
            layout.add_metric(labels, source["layout_in_a_row"])
        yield streak
        yield layout

        counts = status.counts(self.store)
        live = GaugeMetricFamily("yuqing_incidents_live", "Open or acknowledged incidents")
        live.add_metric([], counts.pop("incidents_live"))
        yield live
        deliveries = GaugeMetricFamily(
            "yuqing_deliveries", "Outbox rows by state", labels=["state"]
        )
        for key, value in counts.items():
            deliveries.add_metric([key.removeprefix("deliveries_")], value)
        yield deliveries


def serve_metrics(store: Store, port: int, host: str = "127.0.0.1") -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(YuqingCollector(store))
    start_http_server(port, addr=host, registry=registry)
    return registry
