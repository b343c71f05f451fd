"""The spool's format: what a crash leaves behind is readable, and requests match the points."""

from __future__ import annotations

import json
import math

import targetline as tl
from targetline import _spool
from targetline._delivery import metrics_bodies

from tests.sdk.conftest import series
from tests.sdk.live import free_port


def offline_run(monkeypatch, name="spool"):
    monkeypatch.setenv("TARGETLINE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("TARGETLINE_BACKOFF_MIN", "30")  # no attempt during the test
    return tl.init(project="spool-format", experiment=name)


def test_every_batch_file_says_what_it_is_and_for_which_run(sdk_env, monkeypatch):
    run = offline_run(monkeypatch)
    run.log({"loss": 0.5, "acc": 0.25}, step=3)
    run.log({"f1": float("nan")}, split="test/long_texts")
    run.log_params({"lr": 0.1})
    run.finish(timeout=0)
    files = [path for _, path in _spool.pending(run.dir)]
    assert [p.name for p in files] == ["0000000001.jsonl", "0000000002.jsonl",
                                       "0000000003.jsonl", "0000000005.jsonl"]
    batches = [_spool.read_batch(p) for p in files]
    assert [b.kind for b in batches] == ["create", "points", "params", "finish"]
    assert {b.header["run_id"] for b in batches} == {run.id}
    assert len({b.batch_id for b in batches}) == 4  # one idempotency key each
    create = batches[0].items[0]
    assert create["project"] == "spool-format" and create["body"]["id"] == run.id
    points, damaged = batches[1].points()
    assert damaged == 0 and batches[1].point_count == 3
    assert [(p["key"], p["split"], p["step"]) for p in points] == [
        ("loss", "train", 3), ("acc", "train", 3), ("f1", "test/long_texts", 0)]
    assert math.isnan(points[2]["value"])
    assert batches[2].items == [{"params": {"lr": 0.1}}]
    assert batches[3].items[0]["status"] == "finished"
    meta = _spool.read_meta(run.dir)
    assert meta["run_id"] == run.id and meta["project"] == "spool-format"


def point(key, split, step, timestamp, value):
    return {"key": key, "split": split, "step": step, "timestamp": timestamp, "value": value}


def spooled(tmp_path, *lines, tail=b""):
    path = tmp_path / "0000000001.jsonl"
    path.write_bytes(_spool.header("points", "r1", 1)
                     + b"".join(json.dumps(line, separators=(",", ":")).encode() + b"\n"
                                for line in lines) + tail)
    return _spool.read_batch(path)


def test_a_line_cut_short_by_a_crash_is_left_out(tmp_path):
    batch = spooled(tmp_path, [point("loss", "train", 0, 1, 0.5)],
                    [point("loss", "train", 1, 2, 0.4)], tail=b'[{"key":"loss","spl')
    assert batch.point_count == 2
    assert batch.points() == ([point("loss", "train", 0, 1, 0.5),
                               point("loss", "train", 1, 2, 0.4)], 0)
    body, = metrics_bodies(batch)
    assert json.loads(body)["metrics"] == batch.points()[0]


def test_requests_carry_exactly_the_spooled_points(tmp_path):
    lines = [
        [point("loss", "train", 0, 1700000000000, 0.5),
         point("a b.c/d:e-f_g", "test/long_texts", -3, 1700000000001, -1.5e-07)],
        [point("x", "validation", 9223372036854775807, 1, float("nan")),
         point("x", "validation", 1, 1, float("inf")), point("y", "train", 2, 3, -math.inf)],
        [point("z", "train", 5, 6, 1e300)],
    ]
    fast, = metrics_bodies(spooled(tmp_path, *lines))
    assert isinstance(fast, bytes)  # the lines joined, not decoded
    expected = [p for line in lines for p in line]
    got = json.loads(fast)["metrics"]
    assert [{**p, "value": str(p["value"])} for p in got] == \
        [{**p, "value": str(p["value"])} for p in expected]


def test_the_lines_run_log_writes_are_what_the_api_takes(sdk_env, monkeypatch):
    run = offline_run(monkeypatch, "format")
    run.log({"loss": 0.25, "acc": float("nan")}, step=7)
    run.log({"f1": -math.inf}, split="test/faint_strokes")
    segment = run.dir / f"{run._seg_seq:010d}.jsonl.open"
    points, damaged = _spool.read_batch(segment).points()
    run.finish(timeout=0)
    assert damaged == 0
    assert [(p["key"], p["split"], p["step"], p["value"]) for p in points[::2]] == [
        ("loss", "train", 7, 0.25), ("f1", "test/faint_strokes", 0, -math.inf)]
    # a step the client counted is marked: the server may place the point (docs/sdk.md)
    assert [p.get("auto_step") for p in points] == [None, None, True]
    assert math.isnan(points[1]["value"]) and points[0]["timestamp"] > 1_700_000_000_000


def test_a_garbled_line_falls_back_to_decoding_each_line(tmp_path, capsys):
    path = tmp_path / "0000000001.jsonl"
    path.write_bytes(_spool.header("points", "r1", 1)
                     + b'[{"key":"loss","split":"train","step":0,"timestamp":1,"value":0.5}]\n'
                     + b'garbage]\n'
                     + b'[{"key":"loss","split":"train","step":1,"timestamp":2,"value":0.4}]\n')
    body, = metrics_bodies(_spool.read_batch(path))
    assert [p["step"] for p in body["metrics"]] == [0, 1]
    assert "left out 1 unreadable line" in capsys.readouterr().err


def test_one_log_call_larger_than_a_batch_is_sent_in_parts(tmp_path):
    wide = [point(f"feature_{i}", "train", 0, 1, i / 100) for i in range(25_000)]
    bodies = metrics_bodies(spooled(tmp_path, wide, [point("loss", "train", 0, 2, 0.5)]))
    assert [len(b["metrics"]) for b in bodies] == [10_000, 10_000, 5_001]
    assert bodies[2]["metrics"][-1] == point("loss", "train", 0, 2, 0.5)


def test_batches_never_hold_more_points_than_the_server_takes(sdk_env, monkeypatch):
    run = offline_run(monkeypatch, "full-batches")
    for step in range(7_000):
        run.log({"a": 1.0, "b": 2.0, "c": 3.0}, step=step)
    run.finish(timeout=0)
    counts = [_spool.count_points(path) for _, path in _spool.pending(run.dir)]
    assert sum(counts) == 21_000
    assert max(counts) <= 10_000 and len(counts) == 5  # create, 3 points batches, finish


def test_points_logged_while_the_spool_cannot_be_written_are_kept_and_sent(sdk_env, api, slug,
                                                                           monkeypatch, capsys):
    import os

    import targetline.run as run_module

    full = {"disk": True}

    class FullDisk:
        """The os module, except that writing a logged line fails while the disk is full."""

        def __getattr__(self, name):
            return getattr(os, name)

        @staticmethod
        def write(fd, data):
            if full["disk"] and data.startswith(b"[{"):
                raise OSError(28, "No space left on device")
            return os.write(fd, data)

    run = tl.init(project=slug, experiment="disk-full")
    monkeypatch.setattr(run_module, "os", FullDisk())
    for step in range(100):
        run.log({"loss": step / 100}, step=step)
    assert len(run._backlog) == 100  # kept in memory, in order
    full["disk"] = False
    for step in range(100, 200):
        run.log({"loss": step / 100}, step=step)
    run.finish()
    assert series(api, run.id, "loss") == [(s, s / 100) for s in range(200)]
    err = capsys.readouterr().err
    assert err.count("cannot write to the spool") == 1 and "No space left" in err
    assert "all 200 points sent" in err
