"""The one way any transport runs a tool (MCP tools/call, A2A messages, REST).

Contract (implemented by the MCP capability):

    async def invoke_tool(services, principal, name, arguments, *, progress=None,
                          log=None, transport="mcp") -> ToolOutcome

- raises UnknownTool (a NotFound) when the tool does not exist or is not visible to
  the principal (tier, tenant switch, global switch) -> MCP -32602;
- raises RateLimited when the caller is over a limit -> MCP JSON-RPC error with retry time;
- validates `arguments` against the tool's inputSchema with JSON Schema semantics
  (5.0 is a valid integer and is passed to the handler as 5); a bad argument gives
  ToolOutcome(is_error=True, text="<field>: <what is wrong>");
- a PierreError raised by the handler (provider failure, insufficient data, ...) gives
  ToolOutcome(is_error=True) with the error's message; an unexpected exception gives
  is_error=True with a generic message (logged with traceback, never sent);
- on success, `structured` is the handler's dict (checked against outputSchema) and
  `text` its JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pierre.errors import NotFound, PierreError


class UnknownTool(NotFound):
    code = "unknown_tool"


@dataclass(slots=True)
class ToolOutcome:
    structured: dict[str, Any] | None
    text: str
    is_error: bool = False
    error: PierreError | None = None
    meta: dict[str, Any] = field(default_factory=dict)
