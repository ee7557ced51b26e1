"""The offline model: a deterministic planner (``planner``) that needs no key and no network, and
the arithmetic it reads from words and symbols (``arithmetic``)."""
