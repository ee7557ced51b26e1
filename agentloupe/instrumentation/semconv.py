"""Attribute, event and span names used by agentloupe: every name in one place.

Names follow the OpenTelemetry GenAI and MCP semantic conventions; the few
that are ours carry the ``agentloupe.`` prefix. Import these constants instead
of spelling the strings, so a rename is one change. (Metric names live with
their instruments in ``metrics.py``.)
"""

from opentelemetry.semconv.attributes import (
    client_attributes,
    error_attributes,
    network_attributes,
    server_attributes,
)

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
GEN_AI_TOKEN_TYPE = "gen_ai.token.type"

# MCP conventions
MCP_METHOD_NAME = "mcp.method.name"
MCP_SESSION_ID = "mcp.session.id"
MCP_PROTOCOL_VERSION = "mcp.protocol.version"
JSONRPC_REQUEST_ID = "jsonrpc.request.id"
RPC_JSONRPC_ERROR_CODE = "rpc.jsonrpc.error_code"
#: The other direction: a request the server sends its client (sampling, elicitation, roots, ping)
MCP_DIRECTION = "agentloupe.mcp.direction"
DIRECTION_SERVER_TO_CLIENT = "server_to_client"
#: An input request a 2026-07-28 server embeds in its InputRequiredResult, fulfilled by the client
#: between rounds (no request of its own on the wire)
DIRECTION_INPUT_REQUIRED = "input_required"
#: Input-required rounds (SEP-2322): on each round's CLIENT span its number, and what the server
#: asked for when the round's answer was InputRequiredResult; on the logical call's span above
#: them (FastMCP's span, the agent's tool span) how many rounds it took
MCP_ROUND = "agentloupe.mcp.input_required.round"
MCP_ROUND_ASKED = "agentloupe.mcp.input_required.asked"
MCP_ROUNDS = "agentloupe.mcp.input_required.rounds"
MCP_INPUT_REQUEST_KEY = "agentloupe.mcp.input_required.key"
#: A span link's kind: a run that continues one stopped at interrupt() (on its root span); a retry
#: round answering a round of that stopped run (on the round)
LINK_KIND = "agentloupe.link"
LINK_RESUMES_RUN = "resumes_interrupted_run"
LINK_ANSWERS_ROUND = "answers_round_of_interrupted_run"
MCP_ELICITATION_MESSAGE = "agentloupe.mcp.elicitation.message"
MCP_ELICITATION_ACTION = "agentloupe.mcp.elicitation.action"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
#: Events on the span of the request they belong to (or the session's latest request)
EVENT_MCP_PROGRESS = "mcp.progress"
EVENT_MCP_LOG = "mcp.log"
EVENT_MCP_NOTIFICATION = "mcp.notification"
MCP_PROGRESS = "mcp.progress.value"
MCP_PROGRESS_TOTAL = "mcp.progress.total"
MCP_PROGRESS_MESSAGE = "mcp.progress.message"
MCP_LOG_LEVEL = "mcp.log.level"
MCP_LOG_LOGGER = "mcp.log.logger"
MCP_LOG_DATA = "mcp.log.data"

# General conventions: the stable ones from OpenTelemetry's own package
ERROR_TYPE = error_attributes.ERROR_TYPE
NETWORK_TRANSPORT = network_attributes.NETWORK_TRANSPORT
SERVER_ADDRESS = server_attributes.SERVER_ADDRESS
SERVER_PORT = server_attributes.SERVER_PORT
CLIENT_ADDRESS = client_attributes.CLIENT_ADDRESS
CLIENT_PORT = client_attributes.CLIENT_PORT
# (process.* is still incubating there)
PROCESS_PID = "process.pid"
PROCESS_EXIT_CODE = "process.exit.code"

# agentloupe's own
RUN_ID = "agentloupe.run.id"
SERVER_NAME = "agentloupe.server.name"
SERVER_TRANSPORT = "agentloupe.server.transport"
SERVER_READY_MS = "agentloupe.server.ready_ms"
#: A server launched ahead of the command's imports (a head start): when the pool took it over.
SERVER_CLAIMED_MS = "agentloupe.server.claimed_after_ms"
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

# LangGraph / LangChain runs
LANGGRAPH_NODE = "langgraph.node"
LANGGRAPH_STEP = "langgraph.step"
LANGGRAPH_INTERRUPTED = "langgraph.interrupted"
LANGGRAPH_RESUMED = "langgraph.resumed"
LANGCHAIN_RUN_TYPE = "langchain.run.type"

# runs and tools
RUN_ITERATION = "agentloupe.run.iteration"
RUN_INPUT = "agentloupe.run.input"
SERVERS_STOPPED = "agentloupe.servers.stopped"
TOOL_OUTPUT_TRUNCATED_CHARS = "agentloupe.tool.output_truncated_chars"
STOP_ORPHANS_KILLED = "agentloupe.stop.orphans_killed"

# memory (process-wide during the span: spans run concurrently)
MEMORY_RSS = "agentloupe.memory.process_rss_bytes"
MEMORY_RSS_DELTA = "agentloupe.memory.process_rss_delta_bytes"
MEMORY_TRACED_DELTA = "agentloupe.memory.process_traced_delta_bytes"
MEMORY_TRACED_PEAK = "agentloupe.memory.process_traced_peak_bytes"
MEMORY_TRACED_CURRENT = "agentloupe.memory.process_traced_bytes"
TRACEMALLOC_STATE = "agentloupe.tracemalloc.state"
EVENT_TOP_ALLOCATIONS = "memory.top_allocations"
EVENT_MEMORY_SAMPLE = "memory.sample"

# the watchdog: hangs, loop blocks, GC pauses
EVENT_HANG = "hang"
HANG_KIND = "agentloupe.hang.kind"
HANG_ACTION = "agentloupe.hang.action"
HANG_DEADLINE_S = "agentloupe.hang.deadline_s"
HANG_STUCK_AT = "agentloupe.hang.stuck_at"
HANG_AWAIT_CHAIN = "agentloupe.hang.await_chain"
HANG_LOOP_THREAD = "agentloupe.hang.loop_thread"
LOOP_BLOCKED_MS = "agentloupe.loop.blocked_ms"
LOOP_BLOCKING_LINE = "agentloupe.loop.blocking_line"
LOOP_STACK = "agentloupe.loop.stack"
LOOP_SOURCE = "agentloupe.loop.source"
BLOCK_SOURCE = "agentloupe.block.source"
GC_PAUSE_MS = "agentloupe.gc.pause_ms"
GC_GENERATION = "agentloupe.gc.generation"
GC_COLLECTED = "agentloupe.gc.collected"

# span names
SPAN_SERVE_START = "loupe serve start"
SPAN_SERVE_RUN = "loupe serve run"
SPAN_SHUTDOWN = "shutdown"
SPAN_TOOLS_CALL = "tools/call"
CLI_SPAN_PREFIX = "loupe "
SPAN_OPEN = "agentloupe.span.open"  # written when a span starts; the end record replaces it
RUN_TIMEOUT_S = "agentloupe.run.timeout_s"
SERVERS_MISSING = "agentloupe.servers.missing"
BREAKER_STATE = "agentloupe.breaker.state"
BREAKER_FROM = "agentloupe.breaker.previous_state"
