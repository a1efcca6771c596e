"""Transports move bytes and manage connection lifetime; the MCP engine does the rest."""
