"""Fitness providers: the manager, OAuth flow, resilience and the built-in sources."""
