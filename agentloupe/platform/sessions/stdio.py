"""The MCP stdio transport over a process we launched ourselves.

mcp's own ``stdio_client`` spawns the process itself; owning the process here
gives us its pid, its stderr tail for error messages, its process group for a
clean stop, and a cap on line length against a server that floods stdout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import Process
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from agentloupe.instrumentation.telemetry import lazylog
from agentloupe.platform.sessions.mcpsdk import SessionMessage, encode_message, parse_message

log = lazylog.get_logger("agentloupe.stdio")
MAX_LINE_BYTES = 8 * 1024 * 1024


class ServerOutputError(ValueError):
    """The server wrote something on stdout that is not a JSON-RPC message."""


@asynccontextmanager
async def stdio_streams(
    process: Process, *, name: str = "?", max_line_bytes: int = MAX_LINE_BYTES
) -> AsyncIterator[
    tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]
]:
    assert process.stdout is not None and process.stdin is not None
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)

    async def emit(line: bytes) -> None:
        if not line.strip():
            return
        try:
            message = parse_message(line)
        except ValueError:
            preview = line[:80].decode("utf-8", "replace")
            log.warning(
                "server_stdout_garbage",
                server=name,
                line=preview,
                hint="a stdio server must write only JSON-RPC on stdout; logs go to stderr",
            )
            await read_writer.send(ServerOutputError(f"not a JSON-RPC message on stdout: {preview!r}"))
            return
        await read_writer.send(message)

    async def read_stdout() -> None:
        buffer = b""
        discarding = False
        async with read_writer:
            try:
                assert process.stdout is not None  # opened with stdout=PIPE
                async for chunk in process.stdout:
                    buffer += chunk
                    while (end := buffer.find(b"\n")) >= 0:
                        line, buffer = buffer[:end], buffer[end + 1 :]
                        if discarding:
                            discarding = False
                            continue
                        await emit(line)
                    if len(buffer) > max_line_bytes:
                        log.warning("server_stdout_line_too_long", server=name, limit_bytes=max_line_bytes)
                        await read_writer.send(
                            ServerOutputError(f"a stdout line passed {max_line_bytes} bytes; dropped")
                        )
                        buffer, discarding = b"", True
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
                pass

    async def write_stdin() -> None:
        async with write_reader:
            try:
                async for message in write_reader:
                    assert process.stdin is not None  # opened with stdin=PIPE
                    await process.stdin.send(encode_message(message))
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                pass

    async with anyio.create_task_group() as tg:
        tg.start_soon(read_stdout)
        tg.start_soon(write_stdin)
        try:
            yield read_stream, write_stream
        finally:
            tg.cancel_scope.cancel()
