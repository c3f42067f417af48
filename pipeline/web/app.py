"""The dashboard application: token guard, security headers, login, pages and static files.

Pages are server-rendered shells (Jinja2, autoescaped) that load their data from the JSON API
with ``static/dashboard.js``; crawled text only ever reaches the page as ``textContent``. The
Content-Security-Policy allows scripts, styles and connections from this origin only, so even
a missed escape could not run injected script.

Sessions, their expiry and the limit on wrong tokens are in :mod:`pipeline.web.auth`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from pipeline.config import PLATFORMS, Config
from pipeline.web.api import api_router
from pipeline.web.auth import COOKIE_NAME, TokenCheck
from storage.db import Store

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# Reachable without the token: the login form, logging out (harmless) and the static assets,
# which are the vendored ECharts and our own CSS/JS, no data.
PUBLIC_PATHS = ("/login", "/logout")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PAGES = {"/": "overview", "/mentions": "mentions", "/incidents": "incidents"}


def _is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip() == "application/json"


def _same_origin(request: Request) -> bool:
    # Host only, not the scheme: behind a TLS proxy the browser says https, the app sees http.
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def _cookie_request_safe(request: Request) -> bool:
    # A browser sends the cookie with cross-site form posts too; a cross-site page cannot send
    # JSON without a CORS preflight, which this app never grants.
    return request.method in SAFE_METHODS or (_is_json(request) and _same_origin(request))


def _encodable(value: object) -> str:
    # Lone surrogates (a JSON "\ud800") cannot be encoded as UTF-8: show them escaped.
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """HTTP 422 naming each bad parameter, without FastAPI's echo of the input: the input may be
    unencodable (a 500 while answering) or a token pasted into the wrong field."""
    detail = [
        {
            "loc": [_encodable(part) for part in error.get("loc", ())],
            "msg": _encodable(error.get("msg", "")),
            "type": error.get("type", ""),
        }
        for error in exc.errors()
    ]
    return JSONResponse({"detail": detail}, 422)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _too_many(seconds: float, page: bool) -> Response:
    headers = {"Retry-After": str(int(seconds + 0.999))}
    detail = "too many wrong tokens from this address: try again later"
    if page:
        return Response(f"尝试过多 / {detail}\n", 429, headers, media_type="text/plain")
    return JSONResponse({"detail": detail}, 429, headers=headers)


def create_app(config: Config, store: Store, token: str) -> FastAPI:
    """The dashboard over ``store``; every page and API call needs ``token`` (or a session)."""
    check = TokenCheck(
        token,
        session_seconds=config.web.session_hours * 3600,
        failures_per_minute=config.web.login_failures_per_minute,
    )
    # No generated docs: they load scripts from a CDN and would need inline script.
    app = FastAPI(title="yuqing", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.auth = check  # tests move its clock
    app.add_exception_handler(RequestValidationError, _invalid_request)
    templates = Jinja2Templates(
        env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    )

    @app.middleware("http")
    async def guard(request: Request, call_next):
        path = request.url.path
        if path in PUBLIC_PATHS or path.startswith("/static/"):
            response = await call_next(request)
        else:
            bearer = check.bearer_value(request.headers.get("authorization"))
            client = _client(request)
            locked = check.locked_for(client) if bearer is not None else None
            by_bearer = locked is None and check.token_ok(bearer)
            if bearer is not None and locked is None and not by_bearer:
                check.failed(client)
            by_cookie = not by_bearer and check.session_ok(request.cookies.get(COOKIE_NAME))
            if locked is not None and not by_cookie:
                response = _too_many(locked, page=not path.startswith("/api/"))
            elif not (by_bearer or by_cookie):
                if path.startswith("/api/"):
                    response = JSONResponse(
                        {"detail": "token required"},
                        401,
                        headers={"WWW-Authenticate": "Bearer"},
                    )
                else:
                    response = RedirectResponse("/login", 303)
            elif by_cookie and not _cookie_request_safe(request):
                response = JSONResponse({"detail": "cross-site request refused"}, 403)
            else:
                response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if not path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def _logged_in(request: Request) -> Response:
        response = RedirectResponse("/", 303)
        check.succeeded(_client(request))
        # Replacing a session: the old id (if any) ends rather than lingering until expiry.
        check.end_session(request.cookies.get(COOKIE_NAME))
        response.set_cookie(
            COOKIE_NAME,
            check.open_session(),
            max_age=int(check.session_seconds),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    def _attempt(request: Request, presented: str | None) -> Response:
        """A login with ``presented``: refused unseen while the address is locked out."""
        client = _client(request)
        locked = check.locked_for(client)
        if locked is not None:
            return _too_many(locked, page=True)
        if check.token_ok(presented):
            return _logged_in(request)
        check.failed(client)
        return _login_form(request, "令牌不正确 / wrong token")

    def _login_form(request: Request, error: str | None = None) -> Response:
        return templates.TemplateResponse(
            request,
            "login.html",
            {"page": "login", "error": error},
            status_code=401 if error else 200,
        )

    @app.get("/login")
    def login_page(request: Request, token: str | None = None) -> Response:
        # ?token= lets a bookmark or a script open a session; the redirect drops it from the
        # address bar (and uvicorn's access log is redacted, see pipeline.cli_web).
        if token is None:
            return _login_form(request)
        return _attempt(request, token.strip())

    @app.post("/login")
    async def login_submit(request: Request) -> Response:
        # A urlencoded form parsed by hand: python-multipart is not worth a dependency here.
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        return _attempt(request, (form.get("token") or [""])[0].strip())

    @app.post("/logout")
    def logout(request: Request) -> Response:
        # Ends the session on the server: a copy of the cookie taken earlier stops working too.
        check.end_session(request.cookies.get(COOKIE_NAME))
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE_NAME, path="/")
        return response

    def page(name: str):
        def render(request: Request) -> Response:
            return templates.TemplateResponse(
                request,
                f"{name}.html",
                {
                    "page": name,
                    "topics": [t.name for t in config.topics],
                    "platforms": PLATFORMS,
                    "timezone": config.general.timezone,
                },
            )

        return render

    for path, name in PAGES.items():
        app.add_api_route(path, page(name), methods=["GET"], include_in_schema=False)

    app.include_router(api_router(config, store))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
