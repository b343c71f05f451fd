"""A project named one typo away from one of yours is not created behind your back."""

from __future__ import annotations

import pytest
import targetline as tl
from targetline import _spool

from tests.sdk.conftest import run_cli, series
from tests.sdk.live import free_port


def typo_of(slug: str) -> str:
    return slug[:-1]  # one character short: one edit


def my_projects(api) -> set:
    return {p["slug"] for p in api.projects()}


def test_init_refuses_a_typo_of_one_of_my_projects_naming_it(sdk_env, api, slug, spool_dir):
    api.create_project(slug)
    typo = typo_of(slug)

    with pytest.raises(tl.ApiError) as refused:
        tl.init(project=typo, experiment="first-try")

    assert str(refused.value) == (f'HTTP 400: No project "{typo}"; did you mean "{slug}"? '
                                  "Pass create=True to targetline.init() to create it.")
    assert refused.value.field == "project" and refused.value.similar == [slug]
    assert typo not in my_projects(api)
    assert _spool.run_dirs(spool_dir / "spool") == []  # nothing left behind to send later


def test_create_true_creates_it_all_the_same(sdk_env, api, slug, capsys):
    api.create_project(slug)
    typo = typo_of(slug)

    with tl.init(project=typo, experiment="first-try", create=True) as run:
        run.log({"loss": 0.5})

    assert api.run(run.id)["project"] == typo
    assert f"created project '{typo}'" in capsys.readouterr().err
    with pytest.raises(tl.ApiError) as refused:
        api.create_project(typo_of(typo))
    assert refused.value.status == 400 and "did you mean" in refused.value.message
    assert api.create_project(typo_of(typo), create=True)["slug"] == typo_of(typo)


def test_create_must_be_a_bool(sdk_env, slug):
    with pytest.raises(ValueError, match="create must be True or False"):
        tl.init(project=slug, create="yes")


def test_a_spooled_run_naming_a_typo_stays_spooled_until_told_where(sdk_env, api, slug,
                                                                    spool_dir, monkeypatch,
                                                                    capsys, server):
    api.create_project(slug)
    typo = typo_of(slug)
    monkeypatch.setenv("TARGETLINE_URL", f"http://127.0.0.1:{free_port()}")  # offline
    run = tl.init(project=typo, experiment="offline")
    for step in range(5):
        run.log({"loss": 1 / (step + 1)}, step=step)
    run.finish(timeout=0.5)
    assert "starts offline" in capsys.readouterr().err
    env = {"TARGETLINE_DIR": str(spool_dir), "TARGETLINE_TOKEN": sdk_env["TARGETLINE_TOKEN"]}

    refused = run_cli("sync", "--url", server.url, env=env)

    assert refused.returncode == 1
    assert (f'the server refused to create run {run.id}: No project "{typo}"; did you mean '
            f'"{slug}"? The run stays in the spool: `targetline sync --move {typo}={slug}` '
            f'sends it to "{slug}", `targetline sync --create` creates "{typo}" for it'
            ) in refused.stderr
    assert typo not in my_projects(api)
    assert _spool.pending(run.dir)

    moved = run_cli("sync", "--url", server.url, "--move", f"{typo}={slug}", env=env)

    assert moved.returncode == 0, moved.stderr
    assert f"run {run.id} ({slug}/offline): sent" in moved.stderr
    assert api.run(run.id)["project"] == slug
    assert series(api, run.id, "loss") == [(s, 1 / (s + 1)) for s in range(5)]
    assert typo not in my_projects(api)


def test_a_run_whose_server_comes_back_refuses_to_create_the_typo(sdk_env, live, api, slug,
                                                                  spool_dir, monkeypatch,
                                                                  capsys):
    api.create_project(slug)
    typo = typo_of(slug)
    port = free_port()
    monkeypatch.setenv("TARGETLINE_URL", f"http://127.0.0.1:{port}")
    run = tl.init(project=typo, experiment="offline")
    run.log({"loss": 0.5})
    late = live.server("late")
    late.port, late.url = port, f"http://127.0.0.1:{port}"
    late.start()
    try:
        run.finish(timeout=10)
        err = capsys.readouterr().err
        assert f'No project "{typo}"; did you mean "{slug}"?' in err
        assert "1 point in 3 batches are still spooled" in err
        assert typo not in my_projects(api)
        env = {"TARGETLINE_DIR": str(spool_dir),
               "TARGETLINE_TOKEN": sdk_env["TARGETLINE_TOKEN"]}

        created = run_cli("sync", "--create", env=env)

        assert created.returncode == 0, created.stderr
        assert api.run(run.id)["project"] == typo
        assert series(api, run.id, "loss") == [(0, 0.5)]
    finally:
        late.stop()
