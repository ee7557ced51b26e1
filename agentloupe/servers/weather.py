"""Weather over streamable HTTP: get_weather, get_forecast.

Deterministic: the same city always gets the same weather, so tests can
assert on it. It is a demo, not a weather service.
"""

from __future__ import annotations

import hashlib

from agentloupe.servers.runtime import ToolError, new_server, serve

mcp = new_server("weather", "Current weather and forecasts for a city (deterministic demo data).")

_CONDITIONS = ["sunny", "partly cloudy", "cloudy", "light rain", "rain", "windy", "foggy", "snow"]


def _seed(city: str, day: int) -> int:
    digest = hashlib.sha256(f"{city.strip().lower()}|{day}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _day(city: str, day: int) -> dict[str, object]:
    seed = _seed(city, day)
    condition = _CONDITIONS[seed % len(_CONDITIONS)]
    temperature = (seed >> 8) % 35 - 5
    if condition == "snow":
        temperature = min(temperature, 1)
    return {"condition": condition, "temperature_c": temperature, "humidity_pct": 30 + (seed >> 16) % 60}


def _city(city: str) -> str:
    name = " ".join(city.split())
    if not name:
        raise ToolError("city is empty: name a city, e.g. Tokyo")
    if len(name) > 100 or not all(c.isalpha() or c in " -'.," for c in name):
        raise ToolError(f"{name[:40]!r} is not a city name")
    return name


@mcp.tool()
async def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    city = _city(city)
    now = _day(city, 0)
    return f"{city.strip().title()}: {now['temperature_c']}°C, {now['condition']}, humidity {now['humidity_pct']}%"


@mcp.tool()
async def get_forecast(city: str, days: int = 3) -> str:
    """Get the weather forecast for a city for the next days (1-7)."""
    city = _city(city)
    if not 1 <= days <= 7:
        raise ToolError(f"days={days}: a forecast covers 1 to 7 days")
    lines = [f"Forecast for {city.strip().title()}:"]
    for day in range(1, days + 1):
        entry = _day(city, day)
        lines.append(f"day {day}: {entry['temperature_c']}°C, {entry['condition']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    serve(mcp, transport="http", service_name="agentloupe-weather", argv=argv)


if __name__ == "__main__":
    main()
