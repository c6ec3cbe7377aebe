"""HTTP hygiene every route shares: request body size limits, security headers, and an OpenAPI that
documents the bearer scheme and the error answers (401/403/404/413/422/429/503) of every operation.

Both middlewares are plain ASGI (no ``BaseHTTPMiddleware``), so streaming answers and background
tasks pass through unchanged.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pilotkg.api.errors import BodyTooLarge, render
from pilotkg.settings import Settings

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
# The portal loads only its own files; /docs (Swagger UI) is left without a policy, it loads its own.
CSP = (
    b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    b"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_DOCS = ("/docs", "/redoc")


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"the request body is larger than {limit} bytes",
        f"请求体超过 {limit} 字节",
        where="body",
    )


class BodyLimit:
    """Refuses a body over ``max_bytes``: by its Content-Length before reading, or while it streams in
    (chunked). The error raised inside ``receive`` reaches the route's error handling (413)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes or declared < 0:
                    await render(_too_large(self.max_bytes))(scope, receive, send)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _too_large(self.max_bytes)
            return message

        await self.app(scope, limited, send)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        extra = list(SECURITY_HEADERS)
        if not path.startswith(_DOCS):
            extra.append((b"content-security-policy", CSP))
        if any(name == b"authorization" for name, _ in scope.get("headers", [])):
            extra.append((b"cache-control", b"no-store"))  # answers for a token stay out of shared caches

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in extra if h[0] not in present]
            await send(message)

        await self.app(scope, receive, with_headers)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message_zh", "message_en"],
    "properties": {
        "error": {"type": "string"},
        "message_zh": {"type": "string"},
        "message_en": {"type": "string"},
        "where": {"type": ["string", "null"]},
    },
}
ERROR_ANSWERS: dict[str, str] = {
    "400": "请求有误 / bad request",
    "401": "缺少或无效的令牌 / missing or unknown token",
    "403": "无权执行 / not allowed",
    "404": "没有这个资源 / not found",
    "405": "不支持此请求方法 / method not allowed",
    "406": "无可接受的结果格式 / no acceptable format",
    "413": "请求体过大 / request body too large",
    "415": "不支持的 Content-Type / unsupported media type",
    "422": "输入无效 / invalid input",
    "429": "同时请求过多 / too many requests at once",
    "503": "服务未就绪、繁忙或超时 / not ready, busy or timed out",
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "评审或申报单位令牌（公开数据无需令牌） / "
            "reviewer or applicant token (not needed for public data)",
        }
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["security"] = [{}, {"bearer": []}]  # anonymous, or with a token
            for code, text in ERROR_ANSWERS.items():
                answer = operation["responses"].setdefault(code, {"description": text})
                if code == "422" or "content" not in answer:
                    answer["description"] = answer.get("description") or text
                    answer["content"] = error
    app.openapi_schema = schema
    return schema


def install(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
