"""Tool-level errors: what the invoke layer turns into an `isError` result."""

from __future__ import annotations

from pierre.science import InsufficientData


class InsufficientDataError(InsufficientData):
    """The user's data cannot support this tool's answer (HTTP 422).

    A subclass of science's `InsufficientData`, so both are caught the same way;
    the message says what is missing and how to fix it.
    """

    code = "insufficient_data"


__all__ = ["InsufficientData", "InsufficientDataError"]
