"""Weather over streamable HTTP: get_weather, get_forecast.

Deterministic: the same city always gets the same weather, so tests can
assert on it. It is a demo, not a weather service.

A name several places share (Springfield) makes the tool ask its client which one was meant
(an MCP elicitation, the person's answer); a client that cannot be asked gets the choices in
the tool's error instead.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, Field, create_model

from agentloupe.servers.runtime import ToolError, new_server, serve
from agentloupe.servers.sdk import Context

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


#: Names several places share: the tool asks which one was meant
AMBIGUOUS = {"springfield": ("Springfield, Illinois", "Springfield, Missouri", "Springfield, Massachusetts")}


async def _which(city: str, ctx: Context) -> str:
    """``city``, or the place the person chose when the name is shared (asked through the client)."""
    places = AMBIGUOUS.get(city.lower())
    if places is None:
        return city
    choices = "; ".join(places)
    # a string with its choices (the SDKs take primitive fields only: no Literal)
    schema: type[BaseModel] = create_model(
        "Place", place=(str, Field(description=f"which {city.title()}", json_schema_extra={"enum": list(places)}))
    )
    try:
        answer = await ctx.elicit(message=f"Which {city.title()} did you mean?", schema=schema)
    except Exception as exc:  # a client that cannot be asked: no elicitation, a stateless session
        raise ToolError(f"{city.title()} is ambiguous: name one of {choices}") from exc
    if answer.action != "accept":
        raise ToolError(f"{city.title()} is ambiguous and no place was chosen ({answer.action}): name one of {choices}")
    chosen = str(answer.data.model_dump()["place"])
    if chosen not in places:
        raise ToolError(f"{chosen!r} is not one of the places called {city.title()}: name one of {choices}")
    return chosen


@mcp.tool()
async def get_weather(city: str, ctx: Context) -> str:
    """Get the current weather for a city."""
    city = await _which(_city(city), ctx)
    now = _day(city, 0)
    return f"{_title(city)}: {now['temperature_c']}°C, {now['condition']}, humidity {now['humidity_pct']}%"


def _title(city: str) -> str:
    return city if city in {p for places in AMBIGUOUS.values() for p in places} else city.strip().title()


@mcp.tool()
async def get_forecast(city: str, ctx: Context, days: int = 3) -> str:
    """Get the weather forecast for a city for the next days (1-7)."""
    city = await _which(_city(city), ctx)
    if not 1 <= days <= 7:
        raise ToolError(f"days={days}: a forecast covers 1 to 7 days")
    lines = [f"Forecast for {_title(city)}:"]
    for day in range(1, days + 1):
        entry = _day(city, day)
        lines.append(f"day {day}: {entry['temperature_c']}°C, {entry['condition']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    serve(mcp, transport="http", service_name="agentloupe-weather", argv=argv)


if __name__ == "__main__":
    main()
