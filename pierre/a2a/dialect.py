"""Which A2A dialect a request speaks: the `A2A-Version` header, then the method name.

Absent or empty header means 0.3 (spec and SDK agree). Method names never overlap
between dialects, so a v0.3 method is served as v0.3 under any supported header,
and a v1.0 method as v1.0 under a 1.x header or none (the official test kit sends
none); a v1.0 method under an explicit 0.3 header is refused with -32009.
"""

from __future__ import annotations

import enum


class Dialect(enum.Enum):
    V03 = "0.3"
    V1 = "1.0"


SUPPORTED = ("0.3", "1.0")


def from_header(value: str | None) -> Dialect:
    """Parse `A2A-Version`; raise VersionNotSupported for anything but 0.3.x / 1.x."""
    from pierre.a2a.errors import VersionNotSupported

    v = (value or "").strip()
    if not v:
        return Dialect.V03
    parts = v.split(".")
    if not all(p.isdigit() for p in parts) or len(parts) > 3:
        raise VersionNotSupported(f"A2A version {v!r} is not supported; use 1.0 or 0.3")
    major, minor = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    if major == 1:
        return Dialect.V1
    if (major, minor) == (0, 3):
        return Dialect.V03
    raise VersionNotSupported(f"A2A version {v!r} is not supported; use 1.0 or 0.3")
