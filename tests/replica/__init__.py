"""A local replica of the crawled sites for tests: an HTTP server on 127.0.0.1 serving pages in
each platform's real format (m.weibo.cn JSON, Tieba and Discuz! HTML, RSS/Atom and articles)
from in-memory content that tests change between runs, with injectable faults."""
