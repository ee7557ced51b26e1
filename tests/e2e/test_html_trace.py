"""`loupe trace --html`: one self-contained page, rendered for real in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import time

import pytest

from tests.conftest import run_loupe, spans_in, wait_for

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _chromium() -> str:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("Debian's chromium is not installed: run the test command from the README (it installs it)")
    return binary


def _dump_dom(url: str, profile) -> str:
    binary = _chromium()
    result = subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


class Chromium:
    """Headless Chromium driven through its DevTools protocol over a pipe (``--remote-debugging-pipe``:
    JSON messages ending in a NUL byte, commands in on fd 3, answers and events out on fd 4). Real
    mouse clicks and key presses, as a user's; nothing needed beyond the browser itself."""

    def __init__(self, profile) -> None:
        commands_in, self._commands = os.pipe()
        self._answers, answers_out = os.pipe()

        def on_fds_3_and_4() -> None:  # in the child, before exec
            os.dup2(commands_in, 3)
            os.dup2(answers_out, 4)

        self.process = subprocess.Popen(
            [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(3, 4), preexec_fn=on_fds_3_and_4, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(commands_in)
        os.close(answers_out)
        self._read = b""
        self._last_id = 0
        self._session: str | None = None

    def send(self, method: str, params: dict | None = None, *, timeout: float = 60) -> dict:
        """One command; its answer (the events that come in between are not needed here)."""
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params or {}}
        if self._session is not None and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self._session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._read:
                raw, self._read = self._read.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self._last_id:
                    assert "error" not in answer, (method, answer["error"])
                    return answer["result"]
            ready, _, _ = select.select([self._answers], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"chromium did not answer {method} within {timeout:g} s"
            chunk = os.read(self._answers, 1 << 20)
            assert chunk, f"chromium closed its DevTools pipe (exit code {self.process.poll()})"
            self._read += chunk

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.navigate", {"url": url})
        loaded = f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
        wait_for(lambda: self.evaluate(loaded), f"{url} to load")

    def evaluate(self, expression: str):
        answer = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in answer, answer["exceptionDetails"]
        return answer["result"].get("value")

    def click(self, selector: str) -> None:
        """A left click in the middle of the element, as the mouse does it."""
        box = self.evaluate(
            f"(function(){{ var e = document.querySelector({json.dumps(selector)}); e.scrollIntoView({{block: 'center'}});"
            " var r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})

    def press(self, key: str, code: int) -> None:
        for kind in ("rawKeyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code})

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
            self.process.wait(30)
        except (AssertionError, OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(10)
        finally:
            os.close(self._commands)
            os.close(self._answers)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    home = tmp_path_factory.mktemp("html")
    result = run_loupe(home, "call", "faults.block_loop", '{"ms": 300}')
    assert result.returncode == 0, result.stderr
    trace_id = result.stderr.split("trace_id=")[1].split()[0]
    written = run_loupe(home, "trace", "--html", str(home / "run.html"))
    assert written.returncode == 0, written.stderr
    spans = [s for s in spans_in(home) if s.trace_id == trace_id]
    return home, home / "run.html", spans


def test_page_is_self_contained(page):
    _, path, _ = page
    text = path.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", text)
    assert "url(" not in text and "@import" not in text
    assert "default-src 'none'" in text  # and the browser is told to fetch nothing


def test_chromium_renders_every_span_of_every_process(page):
    home, path, spans = page
    dom = _dump_dom(path.as_uri(), home / "profile-1")
    rows = re.findall(r'class="span-row[^"]*" data-span-id="([0-9a-f]{16})"', dom)
    assert sorted(rows) == sorted(s.span_id for s in spans)
    for service in {s.service for s in spans}:
        assert service in dom
    assert "loop_blocked" in dom  # the event is marked on its row


def test_a_span_opens_with_its_attributes_and_events(page):
    home, path, spans = page
    blocked = next(s for s in spans if any(e["name"] == "loop_blocked" for e in s.events))
    dom = _dump_dom(path.as_uri() + f"#span={blocked.span_id}", home / "profile-2")
    details = dom[dom.index('id="details"'):]
    assert "agentloupe-faults" in details and "mcp.method.name" in details
    assert "event: loop_blocked" in details and "agentloupe.loop.blocking_line" in details
    assert 'id="close"' in details and 'aria-label="close"' in details  # it closes: see the next test


def test_the_span_panel_opens_on_a_click_and_closes_with_its_button_and_with_esc(page):
    home, path, spans = page
    blocked = next(s for s in spans if any(e["name"] == "loop_blocked" for e in s.events))
    panel = "getComputedStyle(document.getElementById('details')).display"
    browser = Chromium(home / "profile-4")
    try:
        browser.open(path.as_uri())
        assert browser.evaluate(panel) == "none"
        browser.click(f'.span-row[data-span-id="{blocked.span_id}"]')
        wait_for(lambda: browser.evaluate(panel) == "block", "a click on the row to open its panel")
        assert "event: loop_blocked" in browser.evaluate("document.getElementById('details').innerText")
        browser.click("#close")
        wait_for(lambda: browser.evaluate(panel) == "none", "the close button to close the panel")
        # opened again by a deep link; Esc closes it, and drops the link from the address
        browser.evaluate(f"location.hash = '#span={blocked.span_id}'")
        wait_for(lambda: browser.evaluate(panel) == "block", "the deep link to open the panel")
        browser.press("Escape", 27)
        wait_for(lambda: browser.evaluate(panel) == "none", "Esc to close the panel")
        assert browser.evaluate("location.hash") == ""
    finally:
        browser.close()


def test_the_page_has_a_time_axis_in_ms(page):
    home, path, spans = page
    dom = _dump_dom(path.as_uri(), home / "profile-3")
    axis = dom[dom.index('id="ticks"'):dom.index('id="rows"')]
    labels = re.findall(r'class="tick"[^>]*>([\d.]+) ms<', axis)
    assert len(labels) == 5 and float(labels[0]) == 0
    total = (max(s.end_ns for s in spans) - min(s.start_ns for s in spans)) / 1e6
    assert abs(float(labels[-1]) - total) < 1  # the last tick is the run's length
