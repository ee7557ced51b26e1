from agentloupe.platform.cli import main

main()
