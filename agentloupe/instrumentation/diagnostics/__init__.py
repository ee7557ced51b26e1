"""Where time and memory went: hang watchdog, loop monitor, loop-block attribution, stacks, memory probe."""
