"""How errors leave the API: always ``PilotkgError.to_dict()`` (zh + en), never a traceback.

Request-validation failures and Starlette's own HTTP errors (unknown route, wrong method) are
translated into the same family first, so a client sees one error shape from every route.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from pilotkg.errors import InputError, NotFoundError, PilotkgError, StoreError

log = logging.getLogger("pilotkg.api")


class MethodNotAllowed(PilotkgError):
    http_status = 405
    code = "method_not_allowed"


class NotAcceptable(PilotkgError):
    """No representation the client's ``Accept`` header allows (HTTP 406)."""

    http_status = 406
    code = "not_acceptable"


class UnsupportedMediaType(PilotkgError):
    http_status = 415
    code = "unsupported_media_type"


class ServiceStarting(StoreError):
    """The service is still loading (or failed to load) its corpus, store and index."""

    code = "service_unavailable"


class BodyTooLarge(PilotkgError):
    http_status = 413
    code = "body_too_large"


class InternalError(PilotkgError):
    http_status = 500
    code = "internal_error"


def render(
    exc: PilotkgError, extra: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = dict(exc.to_dict())
    report = getattr(exc, "report", None)  # ShapeViolation / ProjectInputError: the row-by-row detail
    if isinstance(report, BaseModel):
        body["report"] = report.model_dump(mode="json")
    if extra:
        body.update(extra)
    out = dict(headers or {})
    if exc.http_status == 401:
        out["WWW-Authenticate"] = 'Bearer realm="pilotkg"'
    return JSONResponse(body, status_code=exc.http_status, headers=out or None)


# pydantic error type -> (English, Chinese) templates; {field} and the error's ctx keys fill them in.
_MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("{field} is required", "缺少必填字段 {field}"),
    "string_too_short": ("{field} must not be empty", "{field} 不能为空"),
    "string_too_long": (
        "{field} is too long: at most {max_length} characters",
        "{field} 过长：最多 {max_length} 个字符",
    ),
    "blank_text": ("{field} must not be blank", "{field} 不能只包含空白字符"),
    "string_unicode": (
        "{field} must be valid Unicode (no lone surrogate code points such as \\ud800)",
        "{field} 须为有效的 Unicode 文本（不得含 \\ud800 之类的单独代理码位）",
    ),
    "greater_than_equal": ("{field} must be at least {ge}", "{field} 不能小于 {ge}"),
    "less_than_equal": ("{field} must be at most {le}", "{field} 不能大于 {le}"),
    "int_parsing": ("{field} must be an integer", "{field} 须为整数"),
    "int_type": ("{field} must be an integer", "{field} 须为整数"),
    "string_type": ("{field} must be a string", "{field} 须为字符串"),
    "json_invalid": ("the request body is not valid JSON", "请求体不是合法的 JSON"),
    "model_attributes_type": ("{field} must be a JSON object", "{field} 须为 JSON 对象"),
    "dict_type": ("{field} must be a JSON object", "{field} 须为 JSON 对象"),
    "list_type": ("{field} must be a JSON array", "{field} 须为 JSON 数组"),
    "literal_error": ("{field} must be one of {expected}", "{field} 须为以下之一：{expected}"),
    "extra_forbidden": ("unknown field {field}", "不认识的字段 {field}"),
    "too_long": ("{field} has too many items", "{field} 的条目过多"),
    "too_short": ("{field} has too few items", "{field} 的条目过少"),
    "string_pattern_mismatch": ("{field} has characters that are not allowed", "{field} 含有不允许的字符"),
    "date_parsing": ("{field} must be a date (YYYY-MM-DD)", "{field} 须为日期（YYYY-MM-DD）"),
    "date_from_datetime_parsing": ("{field} must be a date (YYYY-MM-DD)", "{field} 须为日期（YYYY-MM-DD）"),
    "date_type": ("{field} must be a date (YYYY-MM-DD)", "{field} 须为日期（YYYY-MM-DD）"),
    "bool_parsing": ("{field} must be true or false", "{field} 须为 true 或 false"),
    "bool_type": ("{field} must be true or false", "{field} 须为 true 或 false"),
    "float_parsing": ("{field} must be a number", "{field} 须为数字"),
    "float_type": ("{field} must be a number", "{field} 须为数字"),
    "int_from_float": ("{field} must be a whole number", "{field} 须为整数"),
    "json_type": ("the request body must be JSON", "请求体须为 JSON"),
}


def _field(loc: Sequence[int | str]) -> str:
    # ("body", "text") -> "text"; ("query", "limit") -> "limit"; ("body",) -> "body"
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts) or "body"


def validation_error(errors: Sequence[Mapping[str, Any]]) -> tuple[InputError, list[dict[str, Any]]]:
    """An :class:`InputError` (zh + en) for pydantic's error list, plus a trimmed detail list.

    The detail never echoes the rejected input: it may be a 20 000-character confidential text.
    """
    en: list[str] = []
    zh: list[str] = []
    detail: list[dict[str, Any]] = []
    for e in errors:
        loc = tuple(e.get("loc", ()))
        field = _field(loc)
        ctx = {k: v for k, v in (e.get("ctx") or {}).items() if isinstance(v, str | int | float)}
        kind = str(e.get("type", "value_error"))
        tmpl = _MESSAGES.get(kind)
        if kind == "pilotkg" and "en" in ctx and "zh" in ctx:  # pilotkg's own bilingual validators
            en.append(f"{field}: {ctx['en']}")
            zh.append(f"{field}：{ctx['zh']}")
        elif tmpl is None:  # the Chinese message never carries pydantic's English text
            en.append(f"{field}: {e.get('msg', 'invalid value')}")
            zh.append(f"{field} 的值无效")
        else:
            en.append(tmpl[0].format(field=field, **ctx))
            zh.append(tmpl[1].format(field=field, **ctx))
        detail.append({"loc": list(loc), "type": kind, "msg": str(e.get("msg", ""))})
    where = ".".join(str(p) for p in detail[0]["loc"]) if detail else None
    return InputError("; ".join(en), "；".join(zh), where=where), detail


_HTTP: dict[int, tuple[type[PilotkgError], str, str]] = {
    400: (InputError, "the request body could not be read", "无法读取请求体"),
    404: (NotFoundError, "no such resource", "没有这个资源"),
    405: (MethodNotAllowed, "method not allowed on this resource", "该资源不支持此请求方法"),
}


def install(app: FastAPI) -> None:
    """Register the exception handlers: one for the pilotkg family, translations into it for the rest."""

    @app.exception_handler(PilotkgError)
    async def pilotkg_error(request: Request, exc: PilotkgError) -> JSONResponse:
        return render(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        err, detail = validation_error(exc.errors())
        return render(err, {"detail": detail})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, PilotkgError):  # raised while FastAPI read the body (e.g. too large)
            return render(exc.__cause__)
        cls, en, zh = _HTTP.get(
            exc.status_code, (PilotkgError, f"HTTP error {exc.status_code}", f"HTTP 错误 {exc.status_code}")
        )
        err = cls(en, zh, where=request.url.path)
        err.http_status = exc.status_code
        return render(err, headers=exc.headers)  # 405 keeps its Allow header

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Logged with its traceback for the operator; the client gets no internals.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return render(InternalError("internal server error", "服务器内部错误", where=request.url.path))
