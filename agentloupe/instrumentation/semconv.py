"""Attribute and span names used by agentloupe.

Names follow the OpenTelemetry GenAI and MCP semantic conventions; the few
that are ours carry the ``agentloupe.`` prefix. Import these constants instead
of spelling the strings, so a rename is one change.
"""

# GenAI conventions
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_AGENT_NAME = "gen_ai.agent.name"
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT = "gen_ai.tool.call.result"
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"

OP_CHAT = "chat"
OP_EXECUTE_TOOL = "execute_tool"
OP_INVOKE_AGENT = "invoke_agent"

# MCP conventions
MCP_METHOD_NAME = "mcp.method.name"
MCP_SESSION_ID = "mcp.session.id"
MCP_PROTOCOL_VERSION = "mcp.protocol.version"
JSONRPC_REQUEST_ID = "jsonrpc.request.id"
RPC_JSONRPC_ERROR_CODE = "rpc.jsonrpc.error_code"

# General conventions
ERROR_TYPE = "error.type"
NETWORK_TRANSPORT = "network.transport"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
CLIENT_ADDRESS = "client.address"
CLIENT_PORT = "client.port"
PROCESS_PID = "process.pid"
PROCESS_EXIT_CODE = "process.exit.code"

# agentloupe's own
RUN_ID = "agentloupe.run.id"
SERVER_NAME = "agentloupe.server.name"
SERVER_TRANSPORT = "agentloupe.server.transport"
SERVER_READY_MS = "agentloupe.server.ready_ms"
STOP_SIGNAL = "agentloupe.stop.signal"
STOP_GRACE_S = "agentloupe.stop.grace_s"
CANCELLED = "agentloupe.cancelled"
MODEL_KIND = "agentloupe.model.kind"
TOOL_SOURCE = "agentloupe.tool.source"
GRAPH_REFERENCE = "agentloupe.graph.reference"
PROCESS_COMMAND_ARGS = "process.command_args"

# Root span names of the CLI (a trace of `loupe run` starts with SPAN_RUN)
SPAN_RUN = "loupe run"
SPAN_CALL = "loupe call"
SPAN_EXEC = "loupe exec"
