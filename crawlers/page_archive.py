"""Copies of pages that stopped parsing, kept so someone can see what the site sends now.

``<pages_dir>/<spider>/<run id>/NN-<kind>.<html|json|xml>`` plus ``pages.jsonl`` (one line per
copy: URL, kind, status, bytes kept). Capped three ways, because a site that changed its layout
fails on every page of every run: a few pages per run, a size per page, and only the newest
run folders per spider. Only the body is kept, never the headers (they may carry cookies).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

_SUFFIXES = {"json": ".json", "xml": ".xml", "rss": ".xml", "atom": ".xml"}


def suffix_for(content_type: str) -> str:
    for word, suffix in _SUFFIXES.items():
        if word in content_type:
            return suffix
    return ".html"


@dataclass
class PageArchive:
    root: Path
    per_run: int = 5
    keep_runs: int = 20
    max_bytes: int = 2_000_000

    @classmethod
    def from_settings(cls, settings) -> PageArchive:
        return cls(
            root=Path(settings.get("YUQING_PAGES_DIR") or "var/pages"),
            per_run=settings.getint("YUQING_PAGES_PER_RUN", 5),
            keep_runs=settings.getint("YUQING_PAGES_KEEP_RUNS", 20),
            max_bytes=settings.getint("YUQING_PAGES_MAX_BYTES", 2_000_000),
        )

    def save(
        self,
        spider: str,
        run_id: int | None,
        kind: str,
        url: str,
        status: int,
        body: bytes,
        content_type: str = "",
    ) -> Path | None:
        """Keep one page; returns its path, or None once this run's quota is used up."""
        if self.per_run <= 0:
            return None
        folder = self.root / spider / (str(run_id) if run_id else "unrecorded")
        if not folder.exists():
            folder.mkdir(parents=True)
            self._prune(folder.parent)
        index = folder / "pages.jsonl"
        kept = sum(1 for _ in index.open(encoding="utf-8")) if index.exists() else 0
        if kept >= self.per_run:
            return None
        path = folder / f"{kept + 1:02d}-{kind}{suffix_for(content_type.lower())}"
        path.write_bytes(body[: self.max_bytes])
        entry = {
            "file": path.name,
            "url": url,
            "kind": kind,
            "status": status,
            "bytes": len(body),
            "truncated": len(body) > self.max_bytes,
        }
        with index.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return path

    def _prune(self, spider_folder: Path) -> None:
        """Drop the oldest run folders beyond ``keep_runs`` (the one just made included)."""
        runs = sorted(
            (p for p in spider_folder.iterdir() if p.is_dir()),
            key=lambda p: p.stat().st_mtime,
        )
        for old in runs[: max(0, len(runs) - self.keep_runs)]:
            shutil.rmtree(old, ignore_errors=True)
