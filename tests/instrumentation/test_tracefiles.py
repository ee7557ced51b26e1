"""Spans written by the embedded exporter read back as the same tree."""

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, StatusCode

from agentloupe.instrumentation.telemetry.tracefiles import FileSpanProcessor, TraceFile
from agentloupe.view.traces import build_trees, latest_trace_id, read_spans


def test_round_trip(tmp_path):
    provider = TracerProvider(resource=Resource.create({"service.name": "svc"}))
    provider.add_span_processor(FileSpanProcessor(TraceFile(tmp_path / "svc-123.jsonl")))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("loupe run") as root:
        with tracer.start_as_current_span("tools/call add", kind=SpanKind.CLIENT, attributes={"n": 3, "ok": True}) as child:
            child.set_status(StatusCode.ERROR, "bad")
            child.add_event("hang", {"stack": "x"})
    provider.shutdown()

    spans = read_spans(tmp_path)
    assert len(spans) == 2
    [tree] = build_trees(spans)
    assert tree.name == "loupe run" and tree.service == "svc"
    [child_record] = tree.children
    assert child_record.kind == "CLIENT"
    assert child_record.attributes == {"n": 3, "ok": True}
    assert child_record.is_error and child_record.events[0]["name"] == "hang"
    assert tree.trace_id == format(root.get_span_context().trace_id, "032x")
    assert latest_trace_id(spans) == tree.trace_id


def test_bad_lines_are_skipped(tmp_path):
    (tmp_path / "svc-1.jsonl").write_text("not json\n{\"resourceSpans\": 3}\n")
    assert read_spans(tmp_path) == []


def _provider(path, **kwargs):
    provider = TracerProvider(resource=Resource.create({"service.name": "svc"}))
    provider.add_span_processor(FileSpanProcessor(TraceFile(path, **kwargs)))
    return provider


def test_a_span_is_in_the_file_the_moment_it_ends_and_an_open_one_reads_as_unfinished(tmp_path):
    tracer = _provider(tmp_path / "svc-1.jsonl").get_tracer("t")
    outer = tracer.start_span("still running")
    tracer.start_span("done", context=None).end()
    # no flush, no shutdown: what a process killed now would leave behind
    spans = {s.name: s for s in read_spans(tmp_path)}
    assert spans["done"].end_ns > 0 and not spans["done"].unfinished
    assert spans["still running"].unfinished and spans["still running"].attributes == {}
    outer.end()
    assert not {s.name: s for s in read_spans(tmp_path)}["still running"].unfinished


def test_a_file_past_its_size_is_rotated_and_every_rotation_is_read(tmp_path):
    tracer = _provider(tmp_path / "svc-2.jsonl", max_bytes=4000, keep_rotated=2).get_tracer("t")
    for i in range(60):
        tracer.start_span(f"s{i}").end()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["svc-2.1.jsonl", "svc-2.2.jsonl", "svc-2.jsonl"]
    assert all(p.stat().st_size <= 4000 + 1000 for p in tmp_path.iterdir())
    kept = {s.name for s in read_spans(tmp_path)}
    assert "s59" in kept and "s0" not in kept  # the newest kept, the oldest rotated away
    assert len(kept) == len([s for s in read_spans(tmp_path)])


def test_pruning_keeps_the_newest_traces_and_files_of_live_processes(tmp_path):
    import os
    import time

    import psutil

    from agentloupe.instrumentation.telemetry.tracefiles import prune_trace_files

    traces = tmp_path / "traces"
    traces.mkdir()
    dead = 4_000_000  # above pid_max: no such process
    assert not any(psutil.pid_exists(dead - i) for i in range(6))
    for i in range(6):
        path = traces / f"svc-{dead - i}.jsonl"
        path.write_text('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"%032x"}]}]}]}\n' % (i + 1))
        os.utime(path, (time.time() - 100 + i, time.time() - 100 + i))
    mine = traces / f"agent-{os.getpid()}.jsonl"  # a running process's file, oldest of all
    mine.write_text('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"%032x"}]}]}]}\n' % 99)
    os.utime(mine, (time.time() - 1000, time.time() - 1000))
    removed = prune_trace_files(tmp_path, keep_traces=2, about_to_write=0)
    left = sorted(p.name for p in traces.iterdir())
    assert left == sorted([f"svc-{dead - 5}.jsonl", f"svc-{dead - 4}.jsonl", mine.name])
    assert len(removed) == 4


def test_traces_keep_n_leaves_the_files_of_the_newest_n_traces_after_each_run(tmp_path):
    """AGENTLOUPE_TRACES_KEEP=3, as the README says: after a run, the files of the newest 3 traces.
    (Pruning runs as a command starts, before its own file exists: it must make room for it.)"""
    from tests.conftest import run_loupe

    def traces_on_disk() -> set[str]:
        return {s.trace_id for s in read_spans(tmp_path / "traces")}

    newest: list[str] = []
    for n in range(6):
        before = traces_on_disk()
        result = run_loupe(tmp_path, "call", "--no-tree", "math.add", f'{{"a": {n}, "b": 1}}', AGENTLOUPE_TRACES_KEEP="3")
        assert result.returncode == 0, result.stderr
        [new] = traces_on_disk() - before  # this run's trace
        newest.append(new)
        assert traces_on_disk() == set(newest[-3:]), f"after run {n + 1}"
    # server logs alike: one per run here (the math server), as many as the traces kept
    assert len(list((tmp_path / "logs").glob("*.log"))) == 3


def test_a_span_ending_as_the_interpreter_is_torn_down_is_still_written(tmp_path, monkeypatch):
    # a task finalised after a Ctrl-C can end its span when builtins are already gone (seen as
    # "NameError: name 'open' is not defined", the span left unfinished): the file is reopened anyway
    import builtins

    trace_file = TraceFile(tmp_path / "svc-1.jsonl")
    trace_file.write('{"a": 1}')
    trace_file.close()
    monkeypatch.delattr(builtins, "open")
    trace_file.write('{"b": 2}')
    monkeypatch.undo()
    # (still open: the file's tail is the mapped chunk not yet written, NUL bytes)
    lines = (tmp_path / "svc-1.jsonl").read_text().rstrip("\0").splitlines()
    assert lines == ['{"a": 1}', '{"b": 2}'] and trace_file.failed == 0
    trace_file.close()
    assert (tmp_path / "svc-1.jsonl").read_text().splitlines() == lines  # cut to what was written


KILLED = """
import os, signal, sys
from pathlib import Path
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from agentloupe.instrumentation.telemetry.tracefiles import FileSpanProcessor, TraceFile

provider = TracerProvider(resource=Resource.create({"service.name": "svc"}))
provider.add_span_processor(FileSpanProcessor(TraceFile(Path(sys.argv[1]) / f"svc-{os.getpid()}.jsonl")))
tracer = provider.get_tracer("t")
outer = tracer.start_span("still running")
for i in range(int(sys.argv[2])):
    tracer.start_span(f"done {i}").end()
if sys.argv[3] == "fork":
    child = os.fork()
    if child == 0:
        tracer.start_span("in the child").end()
        os._exit(0)
    os.waitpid(child, 0)
    tracer.start_span("in the parent after").end()
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("spans", [3, 5000])  # within the first chunk, and across many
def test_a_process_killed_by_sigkill_keeps_every_ended_span_and_its_open_ones(tmp_path, spans):
    import subprocess
    import sys

    killed = subprocess.run([sys.executable, "-c", KILLED, str(tmp_path), str(spans), "-"], timeout=120)
    assert killed.returncode == -9
    read = {s.name: s for s in read_spans(tmp_path)}
    assert {f"done {i}" for i in range(spans)} <= set(read) and not any(read[f"done {i}"].unfinished for i in range(spans))
    assert read["still running"].unfinished
    [path] = tmp_path.glob("svc-*.jsonl")
    assert path.read_bytes().endswith(b"\0")  # (the mapped chunk's unwritten tail, skipped by readers)


def test_a_forked_child_writes_a_file_of_its_own_and_the_parents_stays_whole(tmp_path):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", KILLED, str(tmp_path), "2", "fork"], timeout=120)
    files = sorted(tmp_path.glob("svc-*.jsonl"))
    assert len(files) == 2
    by_file = {path.name: {s.name for s in read_spans_of(path)} for path in files}
    assert sorted(by_file.values(), key=len) == [{"in the child"}, {"still running", "done 0", "done 1", "in the parent after"}]


def read_spans_of(path):
    from agentloupe.view.traces import parse_request

    return [record for line in path.read_text().splitlines() if line.strip("\0").strip()
            for record in parse_request(line.strip("\0"))]


def test_a_full_disk_loses_the_records_it_refused_and_writing_resumes_after(tmp_path, monkeypatch):
    from agentloupe.instrumentation.telemetry import tracefiles

    real = tracefiles._fallocate
    trace_file = TraceFile(tmp_path / "svc-1.jsonl", max_bytes=64 * 1024)  # a chunk of 64 KiB

    def full(fd, offset, length):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tracefiles, "_fallocate", full)
    trace_file.write('{"lost": 1}')
    assert trace_file.failed == 1
    monkeypatch.setattr(tracefiles, "_fallocate", real)
    for i in range(2000):  # once there is room again
        trace_file.write(f'{{"kept": {i}}}')
    trace_file.close()
    lines = (tmp_path / "svc-1.jsonl").read_text().splitlines()
    assert trace_file.failed == 1 and lines == [f'{{"kept": {i}}}' for i in range(2000)]


def test_a_record_cut_at_a_chunk_that_could_not_grow_is_written_over_not_joined_to_the_next(tmp_path, monkeypatch):
    from agentloupe.instrumentation.telemetry import tracefiles

    real = tracefiles._fallocate
    trace_file = TraceFile(tmp_path / "svc-1.jsonl", max_bytes=1024 * 1024)
    record = '{"n": "' + "x" * 90 + '"}'  # 100 bytes with its newline
    for _ in range(tracefiles.CHUNK_BYTES // 100):
        trace_file.write(record)  # up to 76 bytes short of the first chunk's end
    monkeypatch.setattr(tracefiles, "_fallocate", lambda *args: (_ for _ in ()).throw(OSError(28, "full")))
    trace_file.write('{"lost": "' + "y" * 200 + '"}')  # crosses into the chunk that cannot grow
    monkeypatch.setattr(tracefiles, "_fallocate", real)
    trace_file.write('{"after": 1}')
    trace_file.close()
    lines = (tmp_path / "svc-1.jsonl").read_text().splitlines()
    assert trace_file.failed == 1 and lines[-1] == '{"after": 1}' and lines[:-1] == [record] * (len(lines) - 1)


def test_telemetry_set_up_again_in_a_process_writes_through_the_same_trace_file(tmp_path, monkeypatch):
    # two mappings of one file would write over each other: configure() after shutdown() reuses it
    from agentloupe.instrumentation.telemetry.tracefiles import trace_file_for

    monkeypatch.setenv("AGENTLOUPE_HOME", str(tmp_path))
    first = trace_file_for("svc")
    first.write('{"a": 1}')
    first.close()
    again = trace_file_for("svc")
    assert again is first
    again.write('{"b": 2}')
    first.write('{"c": 3}')
    again.close()
    assert (first.path).read_text().splitlines() == ['{"a": 1}', '{"b": 2}', '{"c": 3}']
