"""A local OpenAI-compatible chat endpoint: a real HTTP server a real provider client talks to.

Deterministic, so a test knows the answer: the first turn asks for the ``add`` tool with the two
numbers of the question, the turn after a tool result answers with it. Each response carries
usage, as OpenAI's does. ``python openai_endpoint.py`` prints its base URL and serves until killed.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USAGE = {"prompt_tokens": 21, "completion_tokens": 7, "total_tokens": 28}


def _reply(body: dict) -> dict:
    messages = body["messages"]
    last = messages[-1]
    if last["role"] == "tool":
        content = last["content"]
        if isinstance(content, list):  # content blocks: their text
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        message = {"role": "assistant", "content": f"The answer is {content}."}
        finish = "stop"
    else:
        text = last["content"] if isinstance(last["content"], str) else json.dumps(last["content"])
        a, b = (float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", text)[:2])
        call = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": json.dumps({"a": a, "b": b})}}
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls"
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "local-model"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": USAGE,
    }


def _chunks(reply: dict) -> list[dict]:
    """The reply as server-sent chunks (``"stream": true``): the text a few characters at a time."""
    choice = reply["choices"][0]
    message, base = choice["message"], {k: reply[k] for k in ("id", "created", "model")}
    deltas: list[dict] = [{"role": "assistant", "content": ""}]
    if message.get("tool_calls"):
        deltas.append({"tool_calls": [{"index": 0, **message["tool_calls"][0]}]})
    else:
        text = message["content"]
        deltas += [{"content": text[i : i + 5]} for i in range(0, len(text), 5)]
    chunks = [{**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": d}]} for d in deltas]
    finish = {"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}
    chunks.append({**base, "object": "chat.completion.chunk", "choices": [finish]})
    chunks.append({**base, "object": "chat.completion.chunk", "choices": [], "usage": USAGE})
    return chunks


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        if body.get("stream"):  # server-sent events, as OpenAI streams
            events = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in _chunks(_reply(body)))
            encoded = (events + "data: [DONE]\n\n").encode()
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("content-length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)
            return
        payload = json.dumps(_reply(body)).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def serve() -> tuple[ThreadingHTTPServer, str]:
    """Start it on a free loopback port, on a thread; (server, base URL ending in /v1)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


if __name__ == "__main__":
    server, url = serve()
    print(url, flush=True)
    threading.Event().wait()
