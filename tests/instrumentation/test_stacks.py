import asyncio

import anyio
import pytest

from agentloupe.instrumentation.diagnostics.waits import all_stacks, headline, waits_of


async def innermost(event):
    await event.wait()


async def middle(event):
    await innermost(event)


async def outer(event):
    await middle(event)


async def test_await_chain_walks_down_to_the_awaited_future():
    event = asyncio.Event()
    task = asyncio.create_task(outer(event))
    await asyncio.sleep(0)
    [wait] = waits_of(task)
    chain = wait.chain()
    names = [line.rsplit(" in ", 1)[1] for line in chain if " in " in line]
    assert names[:3] == ["outer", "middle", "innermost"]
    assert len(task.get_stack()) == 1  # what Python 3.11 alone shows
    assert "Task" in all_stacks(asyncio.get_running_loop())
    event.set()
    await task


async def left(event):
    await event.wait()  # left waits here


async def right(event):
    await event.wait()  # right waits here


def _line_of(marker: str) -> int:
    return next(i for i, text in enumerate(open(__file__).read().splitlines(), start=1) if text.endswith(marker))


async def _by_gather(event):
    await asyncio.gather(left(event), right(event))


async def _by_task_group(event):
    async with asyncio.TaskGroup() as group:
        group.create_task(left(event))
        group.create_task(right(event))


async def _by_anyio(event):
    async with anyio.create_task_group() as group:
        group.start_soon(left, event)
        group.start_soon(right, event)


async def _by_wait(event):
    await asyncio.wait([asyncio.create_task(left(event)), asyncio.create_task(right(event))])


@pytest.mark.parametrize("spawn", [_by_gather, _by_task_group, _by_anyio, _by_wait])
async def test_waits_follow_the_tasks_a_task_spawned_down_to_each_stuck_line(spawn):
    event = asyncio.Event()
    task = asyncio.create_task(spawn(event))
    await asyncio.sleep(0.05)
    found = waits_of(task)
    innermost = sorted(w.user_frames()[0] for w in found)
    assert innermost == sorted([
        f"{__file__}:{_line_of('# left waits here')} in left",
        f"{__file__}:{_line_of('# right waits here')} in right",
    ])
    assert all(w.awaiting == "Event" for w in found)
    assert "these wait on each other" in headline(found)  # two branches on primitives, nothing else
    dump = all_stacks(asyncio.get_running_loop())
    # the dump is a tree: the spawning task, then the two it waits for, indented under it
    spawner = next(i for i, line in enumerate(dump.splitlines()) if f"in {spawn.__name__}" in line)
    below = dump.splitlines()[spawner + 1 :]
    assert any(line.startswith("  Task ") for line in below) and any(line.strip().endswith("in left") for line in below)
    event.set()
    await task
