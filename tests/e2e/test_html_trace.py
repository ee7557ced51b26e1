"""`loupe trace --html`: one self-contained page, rendered for real in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import run_loupe, spans_in

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _dump_dom(url: str, profile) -> str:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("Debian's chromium is not installed: run the test command from the README (it installs it)")
    result = subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


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
    assert 'id="close"' in details and 'aria-label="close"' in details  # and it closes (button, Esc)


def test_the_page_has_a_time_axis_in_ms(page):
    home, path, spans = page
    dom = _dump_dom(path.as_uri(), home / "profile-3")
    axis = dom[dom.index('id="ticks"'):dom.index('id="rows"')]
    labels = re.findall(r'class="tick"[^>]*>([\d.]+) ms<', axis)
    assert len(labels) == 5 and float(labels[0]) == 0
    total = (max(s.end_ns for s in spans) - min(s.start_ns for s in spans)) / 1e6
    assert abs(float(labels[-1]) - total) < 1  # the last tick is the run's length
