"""`manage.py quickstart`: prepare the embedded default, migrate, make sure a superuser
`admin` exists and say how to log in (to the web UI at /, and where the Django admin is).

The embedded default keeps everything under VAR_DIR: the SQLite database, the filesystem
broker's folders and a per-installation secret key. Settings only name those paths; this
command creates them (`--no-admin` stops there and migrates, for servers that tests and
benchmarks start on a folder of their own).

`make run` calls this on every start, so it must be idempotent: the secret key and the
password are generated once, kept in VAR_DIR (mode 0600) and the password is shown again
on later starts for as long as it still works.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

ADMIN_USERNAME = "admin"
PASSWORD_FILE_NAME = "admin-password"


def _write_private(path: Path, text: str) -> None:
    """Write text to a file only its owner can read, without a moment of wider access."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    path.chmod(0o600)  # in case the file already existed with a wider mode


def prepare_var_dir() -> None:
    """Create VAR_DIR's folders and, when SECRET_KEY is not set, the installation's key."""
    for folder in (Path(settings.VAR_DIR), Path(settings.STATIC_ROOT),
                   *map(Path, settings.CELERY_FILESYSTEM_FOLDERS.values())):
        folder.mkdir(parents=True, exist_ok=True)
    key_file = Path(settings.SECRET_KEY_FILE)
    if not os.environ.get("SECRET_KEY") and not key_file.exists():
        _write_private(key_file, secrets.token_urlsafe(50))


def _read_password(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


class Command(BaseCommand):
    help = ("Create var/, migrate, ensure the superuser `admin` exists and print how to log "
            "in (run by `make run`).")

    def add_arguments(self, parser):
        parser.add_argument(
            "--port", default=os.environ.get("PORT") or "8000",
            help="the port the web server listens on, for the URLs (default: $PORT or 8000)",
        )
        parser.add_argument(
            "--no-admin", action="store_true",
            help="only create var/ and migrate (a server started by tests or benchmarks)",
        )

    def handle(self, *args, port: str, no_admin: bool, **options) -> None:
        prepare_var_dir()
        call_command("migrate", interactive=False, verbosity=0 if no_admin else 1)
        if not no_admin:
            self._ensure_admin(port)

    def _ensure_admin(self, port: str) -> None:
        # Read at call time, not import time, so tests (and TARGETLINE_VAR_DIR) can move it.
        password_file = Path(settings.VAR_DIR) / PASSWORD_FILE_NAME
        stored = _read_password(password_file)
        User = get_user_model()

        with transaction.atomic():
            admin = User.objects.filter(username=ADMIN_USERNAME).first()
            if admin is None:
                # Keep a stored password (e.g. after changing DATABASE_URL) valid.
                password = stored or secrets.token_urlsafe(12)
                User.objects.create_superuser(ADMIN_USERNAME, email="", password=password)
                self.stdout.write(f"Created the superuser {ADMIN_USERNAME}.")
            else:
                if not (admin.is_superuser and admin.is_staff and admin.is_active):
                    admin.is_superuser = admin.is_staff = admin.is_active = True
                    admin.save(update_fields=["is_superuser", "is_staff", "is_active"])
                    self.stdout.write(f"Made {ADMIN_USERNAME} a superuser.")
                if admin.has_usable_password():
                    password = stored if stored and admin.check_password(stored) else None
                else:
                    # e.g. created by `createtoken admin`: give it a password to log in with.
                    password = secrets.token_urlsafe(12)
                    admin.set_password(password)
                    admin.save(update_fields=["password"])

        if password is not None and password != stored:
            password_file.parent.mkdir(parents=True, exist_ok=True)
            _write_private(password_file, password)

        self.stdout.write(f"Open http://127.0.0.1:{port}/ and log in:")
        self.stdout.write(f"  user:     {ADMIN_USERNAME}")
        if password is not None:
            self.stdout.write(f"  password: {password}")
            self.stdout.write(f"  (stored in {password_file})")
        else:
            self.stdout.write(
                f"  password: changed since it was generated ({password_file} no longer holds it);"
                f" set a new one with `.venv/bin/python manage.py changepassword {ADMIN_USERNAME}`"
            )
        self.stdout.write(f"The Django admin is at http://127.0.0.1:{port}/admin/")
