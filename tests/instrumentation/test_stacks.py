import asyncio

from agentloupe.instrumentation.diagnostics.stacks import all_stacks, await_chain


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
    chain = await_chain(task)
    names = [line.rsplit(" in ", 1)[1] for line in chain if " in " in line]
    assert names[:3] == ["outer", "middle", "innermost"]
    assert len(task.get_stack()) == 1  # what Python 3.11 alone shows
    assert "Task" in all_stacks(asyncio.get_running_loop())
    event.set()
    await task
