"""`manage.py createtoken USERNAME`: a new API token, printed once as the last line."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tracker.services.tokens import create_token


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME (creating the user, with no password, when missing) "
        "and print the token as the last line of output."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="a label to recognise the token later")
        parser.add_argument(
            "--superuser", action="store_true",
            help="make the user a superuser (staff, every permission) as well",
        )

    def handle(self, *args, username: str, name: str, superuser: bool, **options) -> None:
        User = get_user_model()
        try:
            User.username_validator(username)
        except ValidationError as exc:
            raise CommandError(f"{username!r} is not a valid username: {exc.messages[0]}") from None

        with transaction.atomic():
            user = User.objects.filter(username=username).first()
            if user is None:
                # No password: this user signs in with tokens only (an admin can set one later).
                user = User.objects.create_user(username=username, password=None)
                self.stdout.write(f"Created user {username}.")
            if superuser and not (user.is_superuser and user.is_staff):
                user.is_superuser = user.is_staff = True
                user.save(update_fields=["is_superuser", "is_staff"])
                self.stdout.write(f"Made {username} a superuser.")
            _, raw = create_token(user=user, name=name)

        self.stdout.write(f"Token for {username} (shown once; store it now):")
        self.stdout.write(raw)
