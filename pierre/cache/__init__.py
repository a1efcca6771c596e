"""Caching and the shared session store over a `pierre.caches` backend."""
