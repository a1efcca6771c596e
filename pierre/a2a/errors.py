"""A2A error vocabulary and its two wire shapes.

Both dialects share the JSON-RPC codes (-32001 … -32009 and the standard ones);
v1.0 additionally carries `data: [google.rpc.ErrorInfo]` with a machine reason,
which is what the official 1.x SDK reads. Errors always travel with HTTP 200.
"""

from __future__ import annotations

from typing import Any

from pierre.a2a.dialect import Dialect

ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"
A2A_DOMAIN = "a2a-protocol.org"


class A2AError(Exception):
    """Raised anywhere in the A2A layer; mapped to a JSON-RPC error in one place."""

    code = -32603
    reason = "INTERNAL_ERROR"
    default_message = "Internal error"

    def __init__(self, message: str | None = None, *, metadata: dict[str, str] | None = None):
        self.message = message or self.default_message
        self.metadata = metadata or {}
        super().__init__(self.message)

    def to_error(self, dialect: Dialect) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if dialect is Dialect.V1:
            err["data"] = [{
                "@type": ERROR_INFO_TYPE,
                "reason": self.reason,
                "domain": A2A_DOMAIN,
                "metadata": {k: str(v) for k, v in self.metadata.items()},
            }]
        elif self.metadata:
            err["data"] = dict(self.metadata)
        return err


class ParseError(A2AError):
    code, reason, default_message = -32700, "PARSE_ERROR", "Invalid JSON payload"


class InvalidRequest(A2AError):
    code, reason, default_message = -32600, "INVALID_REQUEST", "Invalid Request"


class MethodNotFound(A2AError):
    code, reason, default_message = -32601, "METHOD_NOT_FOUND", "Method not found"


class InvalidParams(A2AError):
    code, reason, default_message = -32602, "INVALID_PARAMS", "Invalid params"


class InternalError(A2AError):
    pass


class TaskNotFound(A2AError):
    code, reason, default_message = -32001, "TASK_NOT_FOUND", "Task not found"


class TaskNotCancelable(A2AError):
    code, reason, default_message = -32002, "TASK_NOT_CANCELABLE", "Task cannot be canceled"


class PushNotificationNotSupported(A2AError):
    code, reason = -32003, "PUSH_NOTIFICATION_NOT_SUPPORTED"
    default_message = "Push Notification is not supported"


class UnsupportedOperation(A2AError):
    code, reason = -32004, "UNSUPPORTED_OPERATION"
    default_message = "This operation is not supported"


class ContentTypeNotSupported(A2AError):
    code, reason = -32005, "CONTENT_TYPE_NOT_SUPPORTED"
    default_message = "Incompatible content types"


class InvalidAgentResponse(A2AError):
    code, reason, default_message = -32006, "INVALID_AGENT_RESPONSE", "Invalid agent response"


class ExtendedCardNotConfigured(A2AError):
    code, reason = -32007, "EXTENDED_AGENT_CARD_NOT_CONFIGURED"
    default_message = "Authenticated Extended Card is not configured"


class ExtensionSupportRequired(A2AError):
    code, reason = -32008, "EXTENSION_SUPPORT_REQUIRED"
    default_message = "Extension support required"


class VersionNotSupported(A2AError):
    code, reason, default_message = -32009, "VERSION_NOT_SUPPORTED", "Version not supported"


class Unauthenticated(A2AError):
    """Bad or missing credentials on a JSON-RPC call (JSON-RPC has no standard code)."""

    code, reason, default_message = -32600, "UNAUTHENTICATED", "Authentication required"


class RateLimitedError(A2AError):
    """Over a rate limit; the retry time travels in metadata / data."""

    code, reason, default_message = -32603, "RATE_LIMITED", "Rate limit exceeded"


def error_response(
    request_id: str | int | None, exc: A2AError, dialect: Dialect
) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": exc.to_error(dialect)}
