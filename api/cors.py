"""CORS for browser tools on other origins (YASGUI, notebooks, a reviewer's dashboard).

Two tiers, because the data has two tiers:

* **public data** (policy graph, policy API, linked-data pages) — any origin may read it when
  ``Settings.cors_public`` is on (the default): ``Access-Control-Allow-Origin: *``, no credentials, and
  the ``Authorization`` header is *not* allowed, so a page on an arbitrary origin cannot make a
  browser send a reviewer's token;
* **configured origins** (``Settings.cors_origins``) — the origin is echoed, ``Allow-Credentials`` is
  true and ``Authorization`` is allowed: a reviewers' YASGUI deployed elsewhere can send its token.

Starlette's ``CORSMiddleware`` has one origin list and one credentials flag for all, hence this small
middleware. Preflights (``OPTIONS`` with ``Access-Control-Request-Method``) are answered here, before
routing, so ``OPTIONS /sparql`` is 204 instead of 405.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pilotkg.settings import Settings

METHODS = "GET, POST, HEAD, OPTIONS"
PUBLIC_HEADERS = ("accept", "accept-language", "content-type")
CREDENTIAL_HEADERS = (*PUBLIC_HEADERS, "authorization")
EXPOSE = "Content-Location, Content-Type, Link, Vary"
MAX_AGE = "600"


class CorsMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.trusted = {o.rstrip("/") for o in settings.cors_origins}
        self.public = settings.cors_public

    def _grant(self, origin: str) -> tuple[str, bool] | None:
        """(Allow-Origin value, credentials allowed) for ``origin``, or None when it gets nothing."""
        if origin in self.trusted:
            return origin, True
        if self.public:
            return "*", False
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        grant = self._grant(origin)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(headers, grant)(scope, receive, send)
            return
        if grant is None:
            await self.app(scope, receive, send)
            return
        allow, credentials = grant

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                h = MutableHeaders(scope=message)
                h["Access-Control-Allow-Origin"] = allow
                h["Access-Control-Expose-Headers"] = EXPOSE
                if credentials:
                    h["Access-Control-Allow-Credentials"] = "true"
                h.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight(self, headers: Headers, grant: tuple[str, bool] | None) -> Response:
        if grant is None:
            return Response(status_code=403, headers={"Vary": "Origin"})
        allow, credentials = grant
        allowed = CREDENTIAL_HEADERS if credentials else PUBLIC_HEADERS
        asked = [h.strip().lower() for h in headers.get("access-control-request-headers", "").split(",") if h.strip()]
        out = {
            "Access-Control-Allow-Origin": allow,
            "Access-Control-Allow-Methods": METHODS,
            # Only the headers this origin may send: a browser refuses the request when one it asked
            # for (e.g. authorization from an untrusted origin) is missing from the answer.
            "Access-Control-Allow-Headers": ", ".join(h for h in asked if h in allowed) or ", ".join(allowed),
            "Access-Control-Max-Age": MAX_AGE,
            "Vary": "Origin, Access-Control-Request-Headers",
        }
        if credentials:
            out["Access-Control-Allow-Credentials"] = "true"
        return Response(status_code=204, headers=out)
