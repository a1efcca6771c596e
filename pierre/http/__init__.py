"""The aiohttp listener: REST API, Streamable HTTP MCP, A2A, OAuth callbacks, health."""
