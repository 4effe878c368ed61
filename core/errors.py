"""Typed errors raised across wardround.

Every failure that reaches a user ends in one of these, with a message that says what went wrong
and, where possible, what to do about it. The server maps them to RFC 9457 problem documents via
``http_status`` and ``title``.
"""

from __future__ import annotations


class WardroundError(Exception):
    """Base class of every error wardround raises on purpose."""

    http_status: int = 500
    title: str = "Internal error"


class ConfigurationError(WardroundError):
    """A setting is missing or invalid."""

    http_status = 500
    title = "Configuration error"


# --- model boundary ---------------------------------------------------------------------------


class ModelError(WardroundError):
    """Base class of failures at the model boundary."""

    http_status = 502
    title = "Model error"


class ModelUnavailable(ModelError):
    """The model endpoint could not be reached (connection refused, DNS, TLS...) after retries."""

    http_status = 503
    title = "Model unavailable"


class ModelTimeout(ModelError):
    """The model did not answer (first token or whole reply) within the configured time."""

    http_status = 504
    title = "Model timed out"


class ModelRateLimited(ModelError):
    """The endpoint kept answering 429 after the bounded retries."""

    http_status = 503
    title = "Model rate limited"


class ModelServerError(ModelError):
    """The endpoint answered 5xx after retries, or another non-retryable HTTP error."""

    title = "Model server error"

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ModelRequestRejected(ModelError):
    """The endpoint rejected the request (4xx other than 429): a bug on our side, not transient."""

    title = "Model rejected the request"

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ModelOutputInvalid(ModelError):
    """The model's structured output failed validation, even after the repair attempt."""

    title = "Model output invalid"

    def __init__(self, message: str, *, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw


class ModelReplyMalformed(ModelError):
    """The endpoint answered 200 with something that is not an OpenAI reply: a body that is not
    JSON or is cut short, a garbage SSE line, a completion without choices, or a reply larger
    than wardround reads."""

    title = "Model reply malformed"


class ToolLoopExceeded(ModelError):
    """A tool-calling loop hit its step limit without a final answer."""

    title = "Tool loop exceeded"


class StreamInterrupted(ModelError):
    """A streamed reply ended before the server said it was finished."""

    title = "Model stream interrupted"


# --- records and data -------------------------------------------------------------------------


class RecordNotFound(WardroundError):
    """No patient record with that id (or file) exists in the configured source."""

    http_status = 404
    title = "Record not found"


class InvalidFhir(WardroundError):
    """A FHIR resource or bundle failed validation; ``path`` names the offending element."""

    http_status = 422
    title = "Invalid FHIR"

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class InvalidInput(WardroundError):
    """A caller supplied an impossible or malformed value (wrong unit, negative count...)."""

    http_status = 422
    title = "Invalid input"


class DataFileError(WardroundError):
    """A shipped or supplied data file is malformed; the message names file and line."""

    title = "Malformed data file"

    def __init__(self, message: str, *, file: str, line: int | None = None) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")
        self.file = file
        self.line = line


class GraphStoreError(WardroundError):
    """The knowledge graph could not answer (backend down, schema missing, query rejected)."""

    http_status = 503
    title = "Knowledge graph error"


class ReadOnlyViolation(GraphStoreError):
    """A read-only entry point was handed a query that would write."""

    http_status = 400
    title = "Write clause rejected"


# --- access -------------------------------------------------------------------------------------


class NotAuthenticated(WardroundError):
    http_status = 401
    title = "Not authenticated"


class Forbidden(WardroundError):
    http_status = 403
    title = "Forbidden"


class TranscriptMismatch(ModelError):
    """A replayed run made a model request that the transcript does not contain."""

    http_status = 409
    title = "Request not in transcript"
