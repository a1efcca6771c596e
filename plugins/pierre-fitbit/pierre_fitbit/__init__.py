"""Fitbit Web API v1 (`fitbit`) and its successor, the Google Health API v4 (`google_health`).

Two providers in one distribution because they serve the same people: Fitbit users whose
Web API tokens stop working re-consent through `google_health` (see README.md).
"""

from __future__ import annotations

from pierre_fitbit.common import HttpProvider

__all__ = ["HttpProvider"]
