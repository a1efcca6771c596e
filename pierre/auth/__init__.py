"""Authentication and identity: principals, JWT, API keys, passwords."""

from pierre.auth.principal import Authenticator, Principal

__all__ = ["Authenticator", "Principal"]
