"""MCP features over the services: resources, prompts and argument completion."""
