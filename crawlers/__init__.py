"""Scrapy project: settings, the one item class, spiders (weibo, tieba, discuz, news), middlewares.

Spiders only parse responses and yield :class:`crawlers.items.MentionItem`; every side effect
(validation, NLP, storage) lives in the item pipelines of the ``pipeline`` package.
"""
