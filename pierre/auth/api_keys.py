"""API keys: `pk_live_…` / `pk_trial_…` with 256 random bits; only a hash and a prefix stored.

A fast hash (SHA-256) is right here, unlike for passwords: the key has full
entropy, so there is nothing to brute-force, and lookup stays well under 1 ms.
"""

from __future__ import annotations

import hashlib
import secrets

TIERS = ("trial", "starter", "professional", "enterprise")
PREFIXES = ("pk_live_", "pk_trial_")
# Characters of the key kept for listings: the type prefix plus 8 random characters.
SHOWN = 8


def looks_like_api_key(token: str) -> bool:
    return token.startswith(PREFIXES)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_api_key(tier: str) -> tuple[str, str, str]:
    """Return (key, prefix, hash); the key is shown to its owner once and never stored."""
    kind = "pk_trial_" if tier == "trial" else "pk_live_"
    key = kind + secrets.token_urlsafe(32)
    return key, key[: len(kind) + SHOWN], hash_api_key(key)
