"""A2A: Pierre as an agent for other agents (protocol v1.0 and v0.3 on one endpoint).

The protocol modules (`errors`, `dialect`, `codec`, `rpc`, `tasks`, `intent`,
`conformance`, `card`, `webhooks`) are pure; `engine` runs tasks on the loop and
`http` is the thin aiohttp adapter.
"""
