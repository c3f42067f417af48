"""A local outbox file: one JSON line per notification. No network; used by the demo.

The file itself records which keys it holds, so an interrupted send is checked, not guessed.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from alerts.channels.base import Sender, SendError
from alerts.render import body, title


class File(Sender):
    type = "file"

    def send(self, notifications, keys, tz, possible_duplicate=False) -> None:
        opts = self.options(tz)
        path = self.channel.path.expanduser()
        lines = []
        for notification, key in zip(notifications, keys, strict=True):
            record = {
                "key": key,
                "channel": self.channel_id,
                "written_at": datetime.now(UTC).isoformat(),
                "title": title([notification], opts),
                "text": body([notification], "text", opts),
                "notification": notification,
            }
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # One write of whole lines in append mode, then fsync: a crash leaves at most a
            # torn last line, which already_delivered() skips.
            with open(path, "a", encoding="utf-8") as fh:
                fh.write("".join(lines))
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise SendError(f"cannot append to {path}: {exc.strerror}") from None

    def already_delivered(self, keys: list[str]) -> set[str] | None:
        wanted = set(keys)
        found: set[str] = set()
        try:
            with open(self.channel.path.expanduser(), encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if not any(k in line for k in wanted):
                        continue
                    try:
                        key = json.loads(line).get("key")
                    except ValueError:
                        continue
                    if key in wanted:
                        found.add(key)
        except FileNotFoundError:
            return set()
        except OSError:
            return None
        return found
