"""Training processes that die: killed before finish(), or ending without calling it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import targetline as tl

from tests.sdk.conftest import FAST, run_cli, series

TRAINING = textwrap.dedent("""
    import sys, time
    import targetline as tl

    run = tl.init(project=sys.argv[1], experiment="killed", name="doomed")
    print(run.id, flush=True)
    step = 0
    while True:
        run.log({"loss": 1.0 / (step + 1), "acc": step / 1e6}, step=step)
        if step % 7 == 0:
            run.log({"f1": step / 1e6}, split="validation", step=step)
        print(step, flush=True)  # logged: from here on it must never be lost
        step += 1
        if step % 500 == 0:
            time.sleep(0.05)
""")


def test_a_killed_training_process_loses_nothing_it_logged(sdk_env, api, slug, spool_dir):
    # Slow batches: most of what was logged is still in the spool at the kill.
    env = {**os.environ, **sdk_env, "TARGETLINE_FLUSH_INTERVAL": "0.5"}
    proc = subprocess.Popen([sys.executable, "-c", TRAINING, slug], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().strip()
    for line in proc.stdout:
        if int(line) >= 6000:
            break
    proc.send_signal(signal.SIGKILL)
    rest = proc.stdout.read().split()
    proc.wait()
    last = int(rest[-1]) if rest else int(line)

    env = {"TARGETLINE_DIR": str(spool_dir), "TARGETLINE_TOKEN": sdk_env["TARGETLINE_TOKEN"]}
    status = run_cli("status", env=env)
    assert run_id in status.stdout and "waiting for `targetline sync`" in status.stdout
    synced = run_cli("sync", env=env)
    assert synced.returncode == 0, synced.stderr
    assert "ended without finish()" in synced.stderr and "marked killed" in synced.stderr

    loss = series(api, run_id, "loss")
    steps = [s for s, _ in loss]
    # Every step the script got past is there, once; the step being logged at the kill
    # may be there too.
    assert steps[: last + 1] == list(range(last + 1)) and len(steps) in (last + 1, last + 2)
    assert len(series(api, run_id, "acc")) == len(steps)
    f1_steps = [s for s, _ in series(api, run_id, "f1", "validation")]
    assert f1_steps[: last // 7 + 1] == list(range(0, last + 1, 7))
    stored = api.run(run_id)
    assert stored["status"] == "killed" and stored["name"] == "doomed"
    assert run_cli("status", env=env).stdout.startswith("Nothing spooled")


def test_a_script_that_never_calls_finish_is_finished_at_exit(sdk_env, api, slug):
    script = textwrap.dedent("""
        import sys
        import targetline as tl
        run = tl.init(project=sys.argv[1], experiment="forgetful")
        run.log({"loss": 0.5})
        print(run.id, flush=True)
        if sys.argv[2] == "crash":
            raise RuntimeError("out of memory")
    """)
    env = {**os.environ, **sdk_env}
    done = subprocess.run([sys.executable, "-c", script, slug, "ok"], env=env,
                          capture_output=True, text=True, timeout=60)
    crashed = subprocess.run([sys.executable, "-c", script, slug, "crash"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert "RuntimeError: out of memory" in crashed.stderr
    assert api.run(done.stdout.strip())["status"] == "finished"
    assert api.run(crashed.stdout.strip())["status"] == "failed"
    assert series(api, crashed.stdout.strip(), "loss") == [(0, 0.5)]


def test_sync_replays_what_the_server_already_has_without_duplicates(sdk_env, api, slug,
                                                                     spool_dir):
    run = tl.init(project=slug, experiment="replay")
    for step in range(100):
        run.log({"loss": step / 100}, step=step)
    with run._lock:  # a copy of the batch as written, before it is sent
        run._seal(reopen=True)
        batch = (run.dir / f"{run._seg_seq - 1:010d}.jsonl").read_bytes()
    run.finish()
    assert len(series(api, run.id, "loss")) == 100
    # The same batch again, as a crashed process would have left it; sync sends it.
    replay = spool_dir / "spool" / run.id
    replay.mkdir()
    (replay / "run.json").write_text(json.dumps(
        {"run_id": run.id, "url": sdk_env["TARGETLINE_URL"], "project": slug, "created_ms": 0}))
    (replay / "0000000001.jsonl").write_bytes(batch)
    (replay / "finished").touch()
    env = {"TARGETLINE_DIR": str(spool_dir), "TARGETLINE_TOKEN": sdk_env["TARGETLINE_TOKEN"],
           **FAST}
    synced = run_cli("sync", env=env)
    assert synced.returncode == 0, synced.stderr
    assert not replay.exists()
    assert series(api, run.id, "loss") == [(s, s / 100) for s in range(100)]
