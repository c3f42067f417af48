"""Where a report goes: a folder (``report.html``, ``report.txt`` and the PNG charts), and mail
through the alert channels' SMTP settings, with the charts as inline ``cid:`` images so they show
in any mail client (no remote images to block, no scripts)."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from alerts.channels.email import send_message
from alerts.render import plain
from pipeline.config import Config
from pipeline.reports.build import Report


class NoRecipients(Exception):
    """Mail was asked for but no address is known (no email channel, no ``--email``)."""


def save_report(report: Report, out_dir: Path) -> Path:
    """Write the report into ``out_dir/<slug>/``; returns the HTML file's path."""
    folder = Path(out_dir) / report.slug
    folder.mkdir(parents=True, exist_ok=True)
    for name, png in report.images.items():
        (folder / f"{name}.png").write_bytes(png)
    (folder / "report.txt").write_text(report.text, encoding="utf-8")
    page = folder / "report.html"
    page.write_text(report.html_with_files(), encoding="utf-8")
    return page


def configured_recipients(config: Config) -> list[str]:
    """Every address of every email channel of the alert receivers, each once, in order."""
    found: list[str] = []
    for _cid, _receiver, channel in config.alerts.channels():
        if channel.type == "email":
            found.extend(a for a in channel.to if a not in found)
    return found


def message_id(report: Report) -> str:
    # One id per report and period: a second send of the same report is recognisable.
    key = f"report:{report.slug}"
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@yuqing.reports>"


def email_message(report: Report, sender: str, to: list[str]) -> EmailMessage:
    """multipart/alternative: the text, then multipart/related with the HTML and its images."""
    msg = EmailMessage()
    msg["Subject"] = plain(report.subject, 200)
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id(report)
    # Quoted-printable keeps every line short: SMTP servers refuse lines over 998 bytes.
    msg.set_content(report.text, cte="quoted-printable")
    msg.add_alternative(report.html, subtype="html", cte="quoted-printable")
    html_part = msg.get_payload()[1]
    for name, png in report.images.items():
        html_part.add_related(
            png, "image", "png", cid=f"<{name}>", filename=f"{name}.png", disposition="inline"
        )
    return msg


def send_report(config: Config, report: Report, to: list[str] | None = None) -> list[str]:
    """Mail the report to ``to`` (default: the configured email channels' addresses); returns
    the addresses. Raises :class:`NoRecipients`, or the channel's ``SendError``."""
    smtp = config.alerts.smtp
    recipients = list(to or configured_recipients(config))
    if not recipients:
        raise NoRecipients("no email channel in [alerts] and no --email address given")
    if smtp is None:
        raise NoRecipients("[alerts.smtp] is missing: no mail server to send through")
    send_message(smtp, email_message(report, smtp.sender, recipients), recipients)
    return recipients


def produce_reports(
    config: Config,
    store,
    kind: str,
    topics: list[str | None],
    *,
    end=None,
    out_dir: Path | None = None,
    email: bool = False,
    to: list[str] | None = None,
) -> list[tuple[Report, Path, list[str]]]:
    """Build, save and (when ``email``) mail one report per topic; the CLI and the daemon's job
    both come here. Returns (report, HTML path, addresses mailed) per topic."""
    from pipeline.reports.build import build_report

    done = []
    for topic in topics:
        report = build_report(config, store, kind, topic, end)
        page = save_report(report, out_dir or config.reports.out_dir)
        mailed = send_report(config, report, to) if email else []
        done.append((report, page, mailed))
    return done
