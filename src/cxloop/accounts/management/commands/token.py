"""`cxloop token create --user NAME --scopes read,write` prints a new API token, and nothing else."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cxloop.accounts import queries, services
from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError


class Command(BaseCommand):
    help = "Create, list or revoke personal API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it (shown only once).")
        create.add_argument("--user", required=True)
        create.add_argument("--scopes", default="read", help="Comma-separated: read,write,admin")
        create.add_argument("--name", default="cli")
        listing = sub.add_parser("list", help="List a user's tokens.")
        listing.add_argument("--user", required=True)
        revoke = sub.add_parser("revoke", help="Revoke a token by its id.")
        revoke.add_argument("token_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("cli")
        try:
            if options["action"] == "create":
                user = self._user(options["user"])
                _, secret = services.create_token(
                    actor, user, name=options["name"], scopes=options["scopes"].split(",")
                )
                self.stdout.write(secret)
            elif options["action"] == "list":
                user = self._user(options["user"])
                for token in user.api_tokens.all():
                    state = "revoked" if token.revoked_at else "active"
                    self.stdout.write(f"{token.pk}\t{token.prefix}…\t{','.join(token.scopes)}\t{state}\t{token.name}")
            else:
                services.revoke_token(actor, queries.get_token(actor, options["token_id"]))
                self.stdout.write(f"revoked token {options['token_id']}")
        except CxloopError as exc:
            raise CommandError(f"{exc.message} {exc.fields or ''}".strip()) from exc

    @staticmethod
    def _user(username: str) -> Any:
        user = queries.find_user(username)
        if user is None:
            raise CommandError(f"No user {username!r}.")
        return user
