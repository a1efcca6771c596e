"""The tool suite shared by MCP and A2A."""
