"""Garmin Health / Activity API for Pierre: OAuth 2.0 + PKCE, webhook delivery, backfill."""

from pierre_garmin.provider import GarminProvider

__all__ = ["GarminProvider"]
