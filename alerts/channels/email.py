"""Email over SMTP (STARTTLS, SSL or plain): a text part and an HTML part, one mail per
notification. The Message-ID comes from the idempotency key, so a resend is recognisable."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from alerts.channels.base import Sender, SendError
from alerts.config import SmtpConfig
from alerts.render import body, plain, title

HTML_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: sans-serif; font-size: 14px; line-height: 1.5">
{content}
<p style="color: #888; font-size: 12px">yuqing 舆情监测</p>
</body></html>
"""


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@yuqing.alerts>"


class Email(Sender):
    type = "email"

    def message(self, notifications, keys, tz, possible_duplicate=False) -> EmailMessage:
        opts = self.options(tz)
        smtp = self.alerts.smtp
        msg = EmailMessage()
        msg["Subject"] = plain(title(notifications, opts), 200)
        msg["From"] = smtp.sender
        msg["To"] = ", ".join(self.channel.to)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = message_id(keys[0])
        # Quoted-printable keeps every line short: SMTP servers refuse lines over 998 bytes.
        text = body(notifications, "text", opts, possible_duplicate)
        msg.set_content(text, cte="quoted-printable")
        html = HTML_PAGE.format(content=body(notifications, "html", opts, possible_duplicate))
        msg.add_alternative(html, subtype="html", cte="quoted-printable")
        return msg

    def send(self, notifications, keys, tz, possible_duplicate=False) -> None:
        smtp = self.alerts.smtp
        if smtp is None:
            raise SendError("no [alerts.smtp] section")
        msg = self.message(notifications, keys, tz, possible_duplicate)
        send_message(smtp, msg, self.channel.to)


def _context(smtp: SmtpConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(smtp.ca_file) if smtp.ca_file else None)


def send_message(smtp: SmtpConfig, msg: EmailMessage, to: list[str]) -> None:
    """Send a prepared message to ``to`` through ``smtp`` (alerts, and ``yuqing report``);
    raises :class:`SendError`, with ``in_doubt`` when the content went out unanswered."""
    # smtplib.data() sends bytes as they are: the line ends must already be CRLF.
    data = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    try:
        if smtp.security == "ssl":
            conn = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=_context(smtp)
            )
        else:
            conn = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"cannot connect to SMTP {smtp.host}:{smtp.port}: {exc}") from None
    try:
        try:
            conn.ehlo()
            if smtp.security == "starttls":
                conn.starttls(context=_context(smtp))
                conn.ehlo()
            if smtp.username:
                password = smtp.password.reveal() if smtp.password else ""
                conn.login(smtp.username, password)
            code, reply = conn.mail(smtp.sender)
            if code != 250:
                raise SendError(f"SMTP MAIL FROM refused: {code} {reply!r}")
            for address in to:
                code, reply = conn.rcpt(address)
                if code not in (250, 251):
                    raise SendError(f"SMTP RCPT TO {address} refused: {code} {reply!r}")
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"SMTP {smtp.host}: {exc}") from None
        try:
            code, reply = conn.data(data)
        except smtplib.SMTPResponseException as exc:
            # The server answered: it did not take the mail.
            raise SendError(f"SMTP {smtp.host} refused the mail: {exc}") from None
        except (OSError, smtplib.SMTPException) as exc:
            # The content went out and no answer came back: it may have been accepted.
            raise SendError(f"SMTP {smtp.host}: {exc}", in_doubt=True) from None
        # smtplib returns, rather than raises, the server's final answer to the content.
        if code != 250:
            raise SendError(f"SMTP {smtp.host} refused the mail: {code} {reply!r}")
    finally:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            conn.close()
