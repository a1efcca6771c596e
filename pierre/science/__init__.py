"""Pure sports-science functions: plain numbers and `pierre.models` in, typed results out.

No I/O and no asyncio live here. Every formula's docstring names its source.
When the input cannot support a result, functions raise `InsufficientData`
with a message that tells the person what is missing; they never return NaN
or infinity.
"""

from __future__ import annotations

import math

from pierre.errors import PierreError


class InsufficientData(PierreError, ValueError):
    """The data cannot support the requested analysis (HTTP 422).

    The message says what is missing and, where possible, how to fix it.
    """

    http_status = 422
    code = "insufficient_data"


def require_finite(value: float, what: str) -> float:
    """Return `value` if it is a finite number, else raise `InsufficientData` naming `what`."""
    if not math.isfinite(value):
        raise InsufficientData(f"{what} could not be computed from this data (not finite)")
    return value


__all__ = ["InsufficientData", "require_finite"]
