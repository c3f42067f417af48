"""Local servers the delivery tests start on 127.0.0.1: an HTTP sink for the IM robots and
webhooks, and an SMTP server (aiosmtpd)."""
