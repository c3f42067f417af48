"""Orchestration: configuration, the item path (validate -> normalise -> enrich -> store) shared by
the Scrapy item pipelines and ``yuqing ingest``, and the ``yuqing`` command line."""
