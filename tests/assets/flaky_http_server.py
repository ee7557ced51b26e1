"""An HTTP MCP server whose first tools/call fails at the HTTP level (500, 404, or a cut stream),
or (``exit``) whose process dies in the middle of its first tools/call (once: ``FLAKY_STATE`` names
a file that says it already did, so the restarted process serves).

    python flaky_http_server.py --port N [--mode 500|404|cut|exit]
"""

import os
import sys

import uvicorn
from plain_server import Server, http_app  # the SDK's own server, on either mcp generation

mcp = Server("flaky", log_level="WARNING")
failures_left = [1]


@mcp.tool()
async def echo(text: str) -> str:
    """Echo the text."""
    return text


def flaky(app, mode: str):
    async def wrapped(scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await app(scope, receive, send)
        body, more = b"", True
        messages = []
        while more:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if b'"tools/call"' in body and mode == "exit":
            state = os.environ["FLAKY_STATE"]
            if not os.path.exists(state):
                open(state, "w").close()
                os._exit(3)  # mid-call: the request is read, no answer will ever come
        elif b'"tools/call"' in body and failures_left[0] > 0:
            failures_left[0] -= 1
            if mode in ("500", "404"):
                status = int(mode)  # 404: "no such session", as after a server restart
                await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"internal error" if status == 500 else b"session not found"})
                return
            # cut: start an SSE response and end it without an event
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
            await send({"type": "http.response.body", "body": b": starting\n\n", "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        replay = iter(messages)

        async def again():
            replayed = next(replay, None)
            return replayed if replayed is not None else await receive()

        return await app(scope, again, send)

    return wrapped


if __name__ == "__main__":
    port = int(sys.argv[sys.argv.index("--port") + 1])
    mode = sys.argv[sys.argv.index("--mode") + 1] if "--mode" in sys.argv else "500"
    uvicorn.run(flaky(http_app(mcp, port), mode), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
