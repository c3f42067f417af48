"""The dashboard application: token guard, security headers, login, pages and static files.

Pages are server-rendered shells (Jinja2, autoescaped) that load their data from the JSON API
with ``static/dashboard.js``; crawled text only ever reaches the page as ``textContent``. The
Content-Security-Policy allows scripts, styles and connections from this origin only, so even
a missed escape could not run injected script.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, Request
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


def create_app(config: Config, store: Store, token: str) -> FastAPI:
    """The dashboard over ``store``; every page and API call needs ``token`` (or its cookie)."""
    check = TokenCheck(token)
    # No generated docs: they load scripts from a CDN and would need inline script.
    app = FastAPI(title="yuqing", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(
        env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    )

    @app.middleware("http")
    async def guard(request: Request, call_next):
        path = request.url.path
        if path in PUBLIC_PATHS or path.startswith("/static/"):
            response = await call_next(request)
        else:
            by_bearer = check.bearer_ok(request.headers.get("authorization"))
            by_cookie = not by_bearer and check.session_ok(request.cookies.get(COOKIE_NAME))
            if not (by_bearer or by_cookie):
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
        response.set_cookie(
            COOKIE_NAME,
            check.session_value(),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

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
        if check.token_ok(token):
            return _logged_in(request)
        return _login_form(request, "令牌不正确 / wrong token")

    @app.post("/login")
    async def login_submit(request: Request) -> Response:
        # A urlencoded form parsed by hand: python-multipart is not worth a dependency here.
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        if check.token_ok((form.get("token") or [""])[0].strip()):
            return _logged_in(request)
        return _login_form(request, "令牌不正确 / wrong token")

    @app.post("/logout")
    def logout() -> Response:
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
