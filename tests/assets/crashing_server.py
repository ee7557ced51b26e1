"""A server that dies before the MCP handshake, after saying why on stderr."""

import sys

print("boom: cannot open the database at /nonexistent/db.sqlite", file=sys.stderr)
sys.exit(3)
