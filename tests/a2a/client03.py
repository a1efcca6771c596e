"""Runs under .venv-a2a03 (a2a-sdk<1): drive Pierre with the official 0.3 client and
print a JSON report. Usage: client03.py BASE_URL TOKEN"""

import asyncio
import json
import sys
import uuid

import httpx
from a2a.client import A2ACardResolver, A2AClient
from a2a.types import (
    GetTaskRequest,
    Message,
    MessageSendParams,
    Part,
    Role,
    SendMessageRequest,
    TaskQueryParams,
    TextPart,
)


async def main(base: str, token: str) -> dict:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                 timeout=30) as http:
        # The v0.3 card lives at the previous well-known path (agent-card.json is 1.0).
        card = await A2ACardResolver(http, base, "/.well-known/agent.json").get_agent_card()
        client = A2AClient(http, agent_card=card)
        msg = Message(message_id="tck-artifact-text-03", role=Role.user,
                      parts=[Part(root=TextPart(text="hello"))])
        sent = await client.send_message(SendMessageRequest(
            id=str(uuid.uuid4()), params=MessageSendParams(message=msg)))
        task = sent.root.result
        got = await client.get_task(GetTaskRequest(id="g", params=TaskQueryParams(id=task.id)))
        return {"card_url": card.url, "protocol": card.protocol_version,
                "state": task.status.state.value,
                "artifact_text": task.artifacts[0].parts[0].root.text,
                "got_state": got.root.result.status.state.value}


print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
