"""One error family for pilotkg.

Every error says *where* the problem is (a file and line, a field, a query) and carries a
bilingual message. The API maps ``http_status`` once, the CLI maps ``exit_code`` once.
"""

from __future__ import annotations


class PilotkgError(Exception):
    """Base of all pilotkg errors."""

    http_status: int = 400
    exit_code: int = 1
    code: str = "error"

    def __init__(self, message_en: str, message_zh: str = "", where: str | None = None) -> None:
        self.message_en = message_en
        self.message_zh = message_zh or message_en
        self.where = where
        super().__init__(self.__str__())

    def __str__(self) -> str:
        loc = f"{self.where}: " if self.where else ""
        return f"{loc}{self.message_zh} / {self.message_en}"

    def to_dict(self) -> dict[str, str | None]:
        return {
            "error": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "where": self.where,
        }


class InputError(PilotkgError):
    """The user's input (text, file, parameter) is not acceptable."""

    http_status = 422
    exit_code = 2
    code = "invalid_input"


class CorpusParseError(PilotkgError):
    """The corpus text does not have the structure expected of this document family."""

    http_status = 422
    exit_code = 3
    code = "corpus_parse_error"


class ShapeViolation(PilotkgError):
    """A graph does not conform to the SHACL shapes (policy graph or submitted projects)."""

    http_status = 422
    exit_code = 4
    code = "shape_violation"

    def __init__(self, message_en: str, message_zh: str = "", where: str | None = None, report: object = None) -> None:
        super().__init__(message_en, message_zh, where)
        self.report = report


class NotFoundError(PilotkgError):
    http_status = 404
    exit_code = 5
    code = "not_found"


class StoreError(PilotkgError):
    """The RDF store or vector index is missing, locked, or inconsistent."""

    http_status = 503
    exit_code = 6
    code = "store_error"


class QueryError(PilotkgError):
    """Malformed SPARQL (or another query the engine rejects)."""

    http_status = 400
    exit_code = 7
    code = "query_error"


class ResultTooLarge(QueryError):
    """A query's result is over the caller's row or byte allowance."""

    http_status = 422
    code = "result_too_large"


class QueryMemoryExceeded(QueryError):
    """A query needed more memory than one query may use (its worker process was stopped)."""

    http_status = 422
    code = "query_memory_exceeded"


class TooManyRequests(PilotkgError):
    """The caller already has as many requests running as it may (per-caller concurrency limit)."""

    http_status = 429
    exit_code = 12
    code = "too_many_requests"


class ServiceBusy(PilotkgError):
    """Too much work is queued already (the encoder, the query workers): try again shortly."""

    http_status = 503
    exit_code = 12
    code = "busy"


class QueryTimeout(PilotkgError):
    http_status = 503
    exit_code = 8
    code = "query_timeout"


class UpdateForbidden(PilotkgError):
    http_status = 403
    exit_code = 9
    code = "update_forbidden"


class AccessDenied(PilotkgError):
    http_status = 403
    exit_code = 10
    code = "access_denied"


class Unauthenticated(PilotkgError):
    http_status = 401
    exit_code = 10
    code = "unauthenticated"


class ModelError(PilotkgError):
    """The embedding model is missing, or an index was built with another model."""

    http_status = 503
    exit_code = 11
    code = "model_error"
