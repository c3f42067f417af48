"""The spiders. Each one parses a platform's pages into :class:`crawlers.items.MentionItem`."""
