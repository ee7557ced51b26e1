from agentloupe.cli import entrypoint

entrypoint()
