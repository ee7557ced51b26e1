from agentloupe.cli import main

main()
