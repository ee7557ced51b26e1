"""A bearer token in front of an HTTP app (``loupe serve``, the bundled HTTP MCP server).

The token comes from a file (a mounted Kubernetes Secret) or an environment
variable; a request without it, or with another one, gets 401 with
``WWW-Authenticate: Bearer``. The comparison takes the same time whatever the
guess. Probe paths (``/healthz``, ``/readyz``) stay open.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

Scope = dict[str, Any]
App = Callable[[Scope, Any, Any], Awaitable[None]]


class TokenError(ValueError):
    """The token cannot be read; the message says what to do."""


def read_token(*, token_file: Path | None, env_var: str) -> str | None:
    """The token from ``token_file`` (whitespace trimmed), else from ``env_var``; None when neither is set."""
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise TokenError(f"cannot read the token file {token_file}: {exc.strerror or exc}") from None
        if not token:
            raise TokenError(f"the token file {token_file} is empty")
        return token
    return os.environ.get(env_var, "").strip() or None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_bearer(app: App, token: str, *, open_paths: Iterable[str] = ()) -> App:
    """``app`` behind ``Authorization: Bearer <token>``, except for ``open_paths``."""
    expected = f"Bearer {token}".encode()
    open_set = frozenset(open_paths)

    async def guarded(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") in open_set:
            return await app(scope, receive, send)
        given = next((value for name, value in scope.get("headers", []) if name == b"authorization"), b"")
        if hmac.compare_digest(given, expected):
            return await app(scope, receive, send)
        body = b'{"error": "missing or wrong bearer token: send Authorization: Bearer <token>"}'
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="agentloupe"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return guarded
