"""Backup and restore, tried: docs/operations.md's commands, run as they are written.

A project with runs, points, artifacts and reports is backed up with the commands of
"Backups and restore", restored into a database created for the test and an empty folder,
and read back in a process of its own: the winner, every metric history and the SHA-256 of
every artifact and report PDF must be what the original answered. The commands are read
from the docs, so the docs cannot drift from what was tried.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.faults import drill

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "operations.md"
EXAMPLE_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def backup_section_blocks() -> list[str]:
    """The bash blocks of the docs' "Backups and restore" section."""
    text = DOCS.read_text()
    section = text[text.index("## Backups and restore"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"```bash\n(.*?)```", section, re.S)


def block_with(word: str, *, starting: bool = False) -> str:
    blocks = [b for b in backup_section_blocks()
              if (b.startswith(word) if starting else word in b)]
    assert len(blocks) == 1, f"expected one bash block with {word!r} in the docs"
    return blocks[0]


def run_block(block: str, *, cwd: Path, env: dict) -> None:
    """Run the docs' lines in bash, `python manage.py` being this checkout's."""
    script = block.replace("python manage.py", f"{sys.executable} {ROOT / 'manage.py'}")
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{block}\n{result.stdout[-2000:]}{result.stderr[-3000:]}"


def as_if_made_on_the_docs_day(folder: Path, block: str) -> None:
    """Rename today's backup files to the date the restore commands name."""
    [example] = set(EXAMPLE_DAY.findall(block))
    for path in folder.iterdir():
        path.rename(path.with_name(path.name.replace(date.today().isoformat(), example)))


def manage(*args: str, env: dict, cwd: Path = ROOT) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def snapshot(env: dict) -> str:
    """What the drill's project answers, read by a process on `env`'s database and folder."""
    out = manage("shell", "-c", "from tests.faults.drill import print_snapshot; "
                 "print_snapshot()", env=env)
    return out.strip().splitlines()[-1]


def base_env(tmp_path: Path) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
           "TARGETLINE_VAR_DIR": str(tmp_path / "var"),
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    for name in ("DATABASE_URL", "ARTIFACT_ROOT", "CELERY_TASK_ALWAYS_EAGER"):
        env.pop(name, None)
    return env


def assert_worth_restoring(text: str) -> None:
    """The source has what a backup must keep: a winner, histories, files, a report PDF."""
    found = json.loads(text)
    assert found["winner"]["run"] and found["winner"]["judged"] is not None
    assert sum(len(points) for points in found["histories"].values()) >= 30
    assert len(found["artifacts"]) == 3
    assert all(a["sha256"] == a["on_disk"] for a in found["artifacts"].values())
    assert any(r["pdf"] for r in found["reports"])


# --- PostgreSQL ------------------------------------------------------------------------------

@pytest.fixture
def empty_database(settings):
    """A new, empty database on the test server, dropped afterwards: (its URL, its name)."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://…)")
    url = urlsplit(os.environ["DATABASE_URL"])
    name = f"{db['NAME']}_restored_{uuid.uuid4().hex[:8]}"[-63:]
    server = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(url._replace(path=f"/{name}"))
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_postgres_backup_restored_into_a_new_database_answers_the_same(
        settings, tmp_path, empty_database):
    source_files = tmp_path / "artifacts"
    settings.MEDIA_ROOT = source_files
    drill.build()
    url = urlsplit(os.environ["DATABASE_URL"])
    source = {**base_env(tmp_path), "ARTIFACT_ROOT": str(source_files),
              "DATABASE_URL": urlunsplit(url._replace(
                  path=f"/{settings.DATABASES['default']['NAME']}"))}
    before = snapshot(source)
    assert_worth_restoring(before)
    backups = tmp_path / "backups"
    backups.mkdir()

    run_block(block_with("pg_dump", starting=True), cwd=backups, env=source)
    restore = block_with("pg_restore")
    as_if_made_on_the_docs_day(backups, restore)
    restored = {**source, "DATABASE_URL": empty_database,
                "ARTIFACT_ROOT": str(tmp_path / "restored" / "artifacts")}
    run_block(restore, cwd=backups, env=restored)

    assert snapshot(restored) == before


# --- SQLite, the quick start ---------------------------------------------------------------

@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 program is missing")
def test_quick_start_backup_restored_into_an_empty_folder_answers_the_same(tmp_path):
    # The quick start's layout: the commands run from the root of the code, next to var/.
    original, restored = tmp_path / "original", tmp_path / "restored"
    for root in (original, restored):
        root.mkdir()
    source = base_env(original)
    manage("quickstart", "--no-admin", env=source)  # var/, its secret key, the tables
    manage("shell", "-c", "from tests.faults.drill import build; build()", env=source)
    before = snapshot(source)
    assert_worth_restoring(before)

    run_block(block_with("sqlite3", starting=True), cwd=original, env=source)
    restore = block_with("cp var-backup.sqlite3")
    backups = [p for p in original.iterdir() if p.name != "var"]
    for path in backups:
        path.rename(restored / path.name)
    as_if_made_on_the_docs_day(restored, restore)
    run_block(restore, cwd=restored, env=base_env(restored))

    assert snapshot(base_env(restored)) == before
