"""Pure protocol engines (JSON-RPC 2.0, MCP sessions): messages in, messages out, no sockets."""
