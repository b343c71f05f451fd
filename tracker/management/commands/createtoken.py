"""`manage.py createtoken USERNAME`: a new API token, printed once as the last line.

With --password (asked at the prompt, or taken from TARGETLINE_PASSWORD) or
--password-stdin, the user also gets a password to log in to the web UI with; without one,
a user who has none is told how to set it.
"""

import getpass
import os
import sys

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tracker.services.tokens import create_token

PASSWORD_ENV = "TARGETLINE_PASSWORD"


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME (creating the user, with no password, when missing) "
        "and print the token as the last line of output. --password also sets the password "
        "the user logs in to the web UI with."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="a label to recognise the token later")
        parser.add_argument(
            "--superuser", action="store_true",
            help="make the user a superuser (staff, every permission) as well",
        )
        parser.add_argument(
            "--password", action="store_true",
            help=f"also set the user's password for the web UI: from {PASSWORD_ENV} when "
                 "set, else asked at the prompt (twice)",
        )
        parser.add_argument(
            "--password-stdin", action="store_true",
            help="also set the user's password, read from the first line of standard input "
                 "(for scripts)",
        )

    def handle(self, *args, username: str, name: str, superuser: bool, password: bool,
               password_stdin: bool, **options) -> None:
        User = get_user_model()
        try:
            User.username_validator(username)
        except ValidationError as exc:
            raise CommandError(f"{username!r} is not a valid username: {exc.messages[0]}") from None
        existing = User.objects.filter(username=username).first()
        new_password = None
        if password or password_stdin:
            new_password = self._read_password(from_stdin=password_stdin)
            try:
                password_validation.validate_password(
                    new_password, existing or User(username=username))
            except ValidationError as exc:
                raise CommandError("password refused: " + " ".join(exc.messages)) from None

        with transaction.atomic():
            user = User.objects.select_for_update().filter(username=username).first()
            if user is None:
                # No password unless one is given: this user signs in with tokens only.
                user = User.objects.create_user(username=username, password=None)
                self.stdout.write(f"Created user {username}.")
            if superuser and not (user.is_superuser and user.is_staff):
                user.is_superuser = user.is_staff = True
                user.save(update_fields=["is_superuser", "is_staff"])
                self.stdout.write(f"Made {username} a superuser.")
            if new_password is not None:
                user.set_password(new_password)
                user.save(update_fields=["password"])
                self.stdout.write(f"Password set: {username} can log in to the web UI.")
            _, raw = create_token(user=user, name=name)

        if not user.has_usable_password():
            self.stdout.write(f"{username} has no password for the web UI; to set one: "
                              f"python manage.py createtoken {username} --password")
        self.stdout.write(f"Token for {username} (shown once; store it now):")
        self.stdout.write(raw)

    def _read_password(self, *, from_stdin: bool) -> str:
        if from_stdin:
            value = sys.stdin.readline().rstrip("\r\n")
        elif os.environ.get(PASSWORD_ENV):
            value = os.environ[PASSWORD_ENV]
        elif sys.stdin.isatty():
            value = getpass.getpass("Password: ")
            if getpass.getpass("Password (again): ") != value:
                raise CommandError("the two passwords differ; nothing was changed")
        else:
            raise CommandError(f"--password needs a terminal to ask at, or {PASSWORD_ENV} "
                               "set, or --password-stdin")
        if not value:
            raise CommandError("the password is empty; nothing was changed")
        return value
