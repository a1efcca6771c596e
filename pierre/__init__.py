"""Pierre: a multi-tenant MCP and A2A server for fitness data."""

__version__ = "0.1.0"
