"""OAuth 2.1 authorization server for MCP clients (MCP authorization spec).

The protocol rules live in pure modules (`metadata`, `clients`, `pkce`,
`grants`) that take values and return values; `server` adds storage and token
minting, `routes` the aiohttp endpoints.
"""
