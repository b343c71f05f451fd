"""Keeps the ways Targetline is started true: docker/, the Makefile, scripts/run.sh, .ci/run.

Docker cannot run on the development machines, so instead of building the image these tests
check that every command the compose file, the Dockerfile and the scripts name exists here:
`python manage.py X` is a management command that accepts those arguments, `celery -A config`
finds our Celery app and accepts the options, gunicorn accepts its options and can import the
WSGI application.
"""

import importlib
import io
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # PyYAML comes with drf-spectacular
from celery import Celery
from celery.bin.celery import celery as celery_cli
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command, get_commands, load_command_class
from django.test import Client
from gunicorn.config import Config as GunicornConfig
from rest_framework.test import APIClient

from tracker.models import ApiToken
from tracker.services.tokens import hash_token

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker" / "compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
RUN_SH = ROOT / "scripts" / "run.sh"
CI_RUN = ROOT / ".ci" / "run"
APP_SERVICES = {"migrate", "web", "worker", "beat"}


# --- Reading the files ----------------------------------------------------------------

def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def dockerfile_cmd() -> list[str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    cmds = [line[len("CMD"):].strip() for line in text.splitlines() if line.startswith("CMD ")]
    assert len(cmds) == 1, "the Dockerfile should have exactly one CMD"
    return json.loads(cmds[0])  # exec form: a JSON array


def compose_commands() -> list[tuple[str, list[str]]]:
    """(service, argv) for every service that runs our image; the image's CMD when none is set."""
    commands = []
    for name, service in compose()["services"].items():
        if name not in APP_SERVICES:
            continue
        command = service.get("command")
        if command is None:
            argv = dockerfile_cmd()
        elif isinstance(command, str):
            argv = shlex.split(command)
        else:
            argv = list(command)
        commands.append((f"compose:{name}", argv))
    return commands


def run_sh_commands() -> list[tuple[str, list[str]]]:
    """The gunicorn and celery commands of scripts/run.sh, with its variables filled in."""
    values = {"BIN": str(Path(sys.executable).parent), "PORT": "8000", "VAR_DIR": "/tmp/var"}
    text = RUN_SH.read_text().replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(('"$BIN/gunicorn"', '"$BIN/celery"')):
            line = re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), m.group(0)), line)
            argv = shlex.split(line.rstrip("&"))
            argv[0] = Path(argv[0]).name
            commands.append((f"run.sh:{argv[0]}", argv))
    return commands


ALL_COMMANDS = [*compose_commands(), ("Dockerfile:CMD", dockerfile_cmd()), *run_sh_commands()]


# --- Checking one command -------------------------------------------------------------

def check_manage_py(args: list[str]) -> None:
    name, rest = args[0], args[1:]
    commands = get_commands()
    assert name in commands, f"`manage.py {name}` is not a management command"
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    parser.parse_args(rest)  # exits (a test failure) on an option the command does not take


def check_celery(args: list[str]) -> None:
    app_name = None
    for i, arg in enumerate(args):
        if arg in ("-A", "--app"):
            app_name = args[i + 1]
        elif arg.startswith("--app="):
            app_name = arg.split("=", 1)[1]
    assert app_name == "config", f"celery should be started with -A config, not {app_name}"
    assert isinstance(importlib.import_module("config.celery").app, Celery)
    subcommand = next(a for i, a in enumerate(args)
                      if not a.startswith("-") and args[i - 1] not in ("-A", "--app"))
    assert subcommand in celery_cli.commands, f"`celery {subcommand}` does not exist"
    # Let celery itself check the options (it parses them all before acting on --help).
    celery_bin = Path(sys.executable).parent / "celery"
    result = subprocess.run([str(celery_bin), *args, "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def check_gunicorn(args: list[str]) -> None:
    parser = GunicornConfig(usage="%(prog)s [OPTIONS] [APP_MODULE]", prog="gunicorn").parser()
    options = parser.parse_args(args)  # exits (a test failure) on an unknown option
    assert options.args == ["config.wsgi:application"], options.args
    module_name, attribute = options.args[0].split(":")
    assert callable(getattr(importlib.import_module(module_name), attribute))


@pytest.mark.parametrize(("where", "argv"), ALL_COMMANDS, ids=[w for w, _ in ALL_COMMANDS])
def test_every_command_that_starts_targetline_exists(where, argv):
    program = Path(argv[0]).name
    if program in ("python", "python3") and argv[1:2] == ["manage.py"]:
        check_manage_py(argv[2:])
    elif program == "celery":
        check_celery(argv[1:])
    elif program == "gunicorn":
        check_gunicorn(argv[1:])
    else:
        pytest.fail(f"{where}: no check for {argv!r}; teach this test about it")


@pytest.mark.parametrize("path", ["Makefile", "scripts/run.sh", "README.md",
                                  "docs/operations.md"])
def test_management_commands_named_in_docs_and_scripts_exist(path):
    names = set(re.findall(r"manage\.py\s+([a-z_]+)", (ROOT / path).read_text()))
    assert names, f"{path} names no manage.py command"
    assert names <= set(get_commands()), f"unknown in {path}: {names - set(get_commands())}"


# --- The compose file's shape ---------------------------------------------------------

def test_compose_runs_web_worker_beat_on_postgres_and_redis():
    services = compose()["services"]
    assert APP_SERVICES | {"postgres", "redis"} <= set(services)
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"), name
    for name in APP_SERVICES:
        env = services[name]["environment"]
        for key in ("DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS",
                    "ARTIFACT_STORAGE_URL", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            assert key in env, f"{name} lacks {key}"
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])


def test_compose_keeps_artifacts_in_the_object_store_not_a_shared_folder():
    services = compose()["services"]
    for name in APP_SERVICES:
        assert "volumes" not in services[name], f"{name} mounts a folder: nothing is shared"
        env = services[name]["environment"]
        assert env["ARTIFACT_STORAGE_URL"] == "${ARTIFACT_STORAGE_URL:-s3://targetline/artifacts}"
        assert env["AWS_ENDPOINT_URL"] == "${AWS_ENDPOINT_URL-http://minio:9000}"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["minio-bucket"]["condition"] == (
            "service_completed_successfully")
    assert services["minio"]["command"].startswith("server /data")
    assert any(v.endswith(":/data") for v in services["minio"]["volumes"])
    # the bucket that ARTIFACT_STORAGE_URL names is the one made at start
    assert "mc mb --ignore-existing store/targetline" in services["minio-bucket"]["command"][0]


def test_dockerfile_builds_a_non_root_image_from_python_311_with_pdf_and_chart_libraries():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim-bookworm\b", text, re.M)
    for package in ("chromium", "libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz0b",
                    "fontconfig"):
        assert re.search(rf"\s{re.escape(package)}\s", text), package
    assert re.search(r"^RUN pip install \.", text, re.M)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")


# --- Scripts and the Makefile ---------------------------------------------------------

@pytest.mark.parametrize("script", [RUN_SH, CI_RUN], ids=["scripts/run.sh", ".ci/run"])
def test_scripts_are_executable_bash(script):
    assert script.stat().st_mode & stat.S_IXUSR, f"chmod +x {script.relative_to(ROOT)}"
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(("target", "expected"), [
    ("run", ["manage.py quickstart", "exec scripts/run.sh"]),
    ("test", [".venv/bin/ruff check .", ".venv/bin/lint-imports", ".venv/bin/pytest"]),
])
def test_make_targets_exist(target, expected):
    # Without the calling make's flags: `make -j test` would hand over its jobserver.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(["make", "-n", target], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for line in expected:
        assert line in result.stdout


# --- Management commands --------------------------------------------------------------

def run_command(*args) -> list[str]:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


@pytest.mark.django_db
def test_createtoken_creates_the_user_and_prints_a_working_token_last():
    lines = run_command("createtoken", "alice")

    assert lines[:3] == ["Created user alice.",
                         "alice has no password for the web UI; to set one: "
                         "python manage.py createtoken alice --password",
                         "Token for alice (shown once; store it now):"]
    token = lines[-1]
    alice = get_user_model().objects.get(username="alice")
    assert not alice.has_usable_password()
    assert ApiToken.objects.filter(user=alice, key_hash=hash_token(token)).exists()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/projects/").status_code == 200


@pytest.mark.django_db
def test_createtoken_for_an_existing_user_adds_a_token_and_keeps_the_password(make_user):
    bob = make_user("bob", password="s3cret-enough")

    lines = run_command("createtoken", "bob", "--name", "laptop", "--superuser")

    assert lines[:2] == ["Made bob a superuser.", "Token for bob (shown once; store it now):"]
    bob.refresh_from_db()
    assert bob.check_password("s3cret-enough")
    assert bob.is_superuser and bob.is_staff
    assert ApiToken.objects.get(key_hash=hash_token(lines[-1])).name == "laptop"


@pytest.mark.django_db
def test_createtoken_with_a_password_from_the_environment_lets_the_user_log_in(monkeypatch):
    monkeypatch.setenv("TARGETLINE_PASSWORD", "a long enough password 1")

    lines = run_command("createtoken", "carol", "--password")

    assert "Password set: carol can log in to the web UI." in lines
    assert not any("has no password" in line for line in lines)
    assert Client().login(username="carol", password="a long enough password 1")


@pytest.mark.django_db
def test_createtoken_reads_the_password_from_stdin_for_scripts(monkeypatch, make_user):
    make_user("dave")  # a token user, no password yet
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password 2\n"))

    lines = run_command("createtoken", "dave", "--password-stdin")

    assert lines[0] == "Password set: dave can log in to the web UI."
    assert ApiToken.objects.filter(user__username="dave", key_hash=hash_token(lines[-1]))
    assert Client().login(username="dave", password="a long enough password 2")


@pytest.mark.django_db
def test_createtoken_refuses_a_weak_password_and_changes_nothing(monkeypatch):
    monkeypatch.setenv("TARGETLINE_PASSWORD", "password")

    with pytest.raises(CommandError, match="^password refused: This password is too common.$"):
        run_command("createtoken", "erin", "--password")

    assert not get_user_model().objects.filter(username="erin").exists()


@pytest.fixture
def var_dir(settings, tmp_path):
    """The embedded default's folder, moved to tmp_path as TARGETLINE_VAR_DIR would move it."""
    settings.VAR_DIR = tmp_path
    settings.SECRET_KEY_FILE = tmp_path / "secret_key"
    settings.STATIC_ROOT = tmp_path / "static"
    settings.CELERY_FILESYSTEM_FOLDERS = {name: tmp_path / "celery" / name
                                          for name in ("queue", "processed", "control", "results")}
    return tmp_path


@pytest.mark.django_db
def test_quickstart_creates_the_broker_folders_and_a_private_secret_key_once(var_dir,
                                                                            monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)

    run_command("quickstart", "--no-admin")
    key = (var_dir / "secret_key").read_text()
    run_command("quickstart", "--no-admin")

    assert (var_dir / "secret_key").read_text() == key  # sessions survive a restart
    assert len(key.strip()) >= 50
    assert stat.S_IMODE((var_dir / "secret_key").stat().st_mode) == 0o600
    for name in ("queue", "processed", "control", "results"):
        assert (var_dir / "celery" / name).is_dir()
    assert not get_user_model().objects.filter(username="admin").exists()


@pytest.mark.django_db
def test_quickstart_creates_admin_once_and_shows_the_same_password(var_dir):
    tmp_path = var_dir

    first = run_command("quickstart", "--port", "8123")
    second = run_command("quickstart", "--port", "8123")

    admins = get_user_model().objects.filter(username="admin")
    assert admins.count() == 1
    admin = admins.get()
    assert admin.is_superuser and admin.is_staff
    password_file = tmp_path / "admin-password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    password = password_file.read_text().strip()
    assert admin.check_password(password)
    assert first[0] == "Created the superuser admin."
    hint = ["Open http://127.0.0.1:8123/ and log in:", "  user:     admin",
            f"  password: {password}", f"  (stored in {password_file})",
            "The Django admin is at http://127.0.0.1:8123/admin/"]
    assert first[1:] == hint
    assert second == hint


@pytest.mark.django_db
def test_quickstart_says_when_the_password_was_changed(var_dir):
    run_command("quickstart")
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("chosen-by-the-admin")
    admin.save()

    lines = run_command("quickstart")

    assert lines[2].startswith("  password: changed since it was generated")
    assert "manage.py changepassword admin" in lines[2]
    assert admin.check_password("chosen-by-the-admin")


@pytest.mark.django_db
def test_the_quickstart_admin_sees_every_project_read_only(var_dir, project):
    run_command("quickstart")
    password = (var_dir / "admin-password").read_text().strip()
    browser = Client()

    signed_in = browser.post("/login/", {"username": "admin", "password": password})
    page = browser.get("/p/news-topics/")

    assert signed_in.status_code == 302
    assert page.status_code == 200
    assert "Read-only: you see this project as staff." in page.content.decode()
