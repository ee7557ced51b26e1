"""A hand-written stdio MCP server that writes garbage on stdout before each answer.

GARBAGE=notjson|badutf8|hugeline|deepjson|huge_result chooses what comes first.
"""

import json
import os
import sys

MODE = os.environ.get("GARBAGE", "notjson")
out = sys.stdout.buffer


def send(message: dict) -> None:
    out.write(json.dumps(message).encode() + b"\n")
    out.flush()


def garbage() -> None:
    if MODE == "notjson":
        out.write(b"Loading model weights... done\n")
    elif MODE == "badutf8":
        out.write(b'{"jsonrpc": "2.0", "method": "\xff\xfe\xfa"}\n')
    elif MODE == "hugeline":
        out.write(b"x" * (10 * 1024 * 1024) + b"\n")
    elif MODE == "deepjson":
        out.write(b"[" * 10_000 + b"]" * 10_000 + b"\n")
    out.flush()


for line in sys.stdin.buffer:
    request = json.loads(line)
    if "id" not in request:
        continue
    method, rid = request["method"], request["id"]
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": rid, "result": {"protocolVersion": request["params"]["protocolVersion"], "capabilities": {"tools": {}}, "serverInfo": {"name": "garbage", "version": "1"}}})
    elif method == "tools/list":
        send({"jsonrpc": "2.0", "id": rid, "result": {"tools": [{"name": "echo", "description": "Echo.", "inputSchema": {"type": "object", "properties": {}}}]}})
    elif method == "tools/call":
        garbage()
        text = "y" * 200_000 if MODE == "huge_result" else "still here"
        send({"jsonrpc": "2.0", "id": rid, "result": {"content": [{"type": "text", "text": text}], "isError": False}})
    else:
        send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "Method not found"}})
