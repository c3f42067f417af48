"""``yuqing web``: serve the dashboard (:mod:`pipeline.web`) with uvicorn."""

from __future__ import annotations

import ipaddress
import logging

import click


class RedactToken(logging.Filter):
    """Masks credentials in uvicorn's access lines: the ``/login?token=`` form, also spelt
    ``?%74oken=``, and any other token-like parameter (:func:`alerts.secrets.redact`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Imported here: alerts.secrets loads pydantic, which `yuqing --help` does not need.
        from alerts.secrets import redact

        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("web")
@click.option("--host", help="Address to listen on (default: web.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: web.port, 8080).")
@click.pass_obj
def web_command(app, host: str | None, port: int | None) -> None:
    """Serve the web dashboard: topic trends, mention search and export, incidents.

    Every page and API call needs the token from $YUQING_WEB_TOKEN or the config's web.token
    (at least 16 characters). Browsers log in at /login; scripts send
    "Authorization: Bearer TOKEN". Listens on 127.0.0.1 unless told otherwise: put a TLS
    reverse proxy in front before exposing it.

    \b
    Example:
        export YUQING_WEB_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
        yuqing web --port 8080    # then open http://127.0.0.1:8080/login
    """
    # Imported here so the rest of the CLI starts without loading FastAPI.
    import uvicorn

    from pipeline.web import create_app
    from pipeline.web.auth import TOKEN_ENV, web_token

    config = app.config
    token = web_token(config)
    host = host or config.web.host
    port = port or config.web.port
    if not _is_loopback(host):
        click.echo(
            f"warning: listening on {host}, beyond this machine; the token travels in clear "
            "text unless a TLS proxy sits in front",
            err=True,
        )
    logging.getLogger("uvicorn.access").addFilter(RedactToken())
    store = app.store()
    try:
        click.echo(f"dashboard on http://{host}:{port}/ (token from {TOKEN_ENV} or web.token)")
        uvicorn.run(
            create_app(config, store, token),
            host=host,
            port=port,
            log_config=None,  # keep yuqing's logging setup (pipeline.logs)
            server_header=False,
        )
    finally:
        store.close()
