"""The cast, shared by every test module.

- alice: agent in team A — works with customers, cannot merge or delete.
- bob: supervisor in team A — can merge, unmerge and delete.
- charlie: analyst in team B — may read but change nothing (the outsider for writes).
- ada: admin — everything, including the audit trail and attribute definitions.
Each has an API token with every scope their role allows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from cxloop.accounts import services as account_services
from cxloop.accounts.models import Team, User
from cxloop.core.actor import Actor


@dataclass
class Member:
    user: User
    token: str
    actor: Actor

    def headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}


def _member(username: str, role: str, team: Team | None, scopes: list[str]) -> Member:
    user = User.objects.create_user(username=username, password=f"{username}-pass-123", role=role, team=team)
    token, secret = account_services.create_token(Actor.system("test"), user, name="test", scopes=scopes)
    return Member(user=user, token=secret, actor=Actor.for_user(user))


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Raw payloads and attachments go to Django's storage: keep each test's files to itself."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    """Each cast member's password is hashed per test; PBKDF2 at production cost takes about 1 s each here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team_a(db: None) -> Team:
    return Team.objects.create(name="Team A")


@pytest.fixture
def team_b(db: None) -> Team:
    return Team.objects.create(name="Team B")


@pytest.fixture
def alice(team_a: Team) -> Member:
    return _member("alice", "agent", team_a, ["read", "write"])


@pytest.fixture
def bob(team_a: Team) -> Member:
    return _member("bob", "supervisor", team_a, ["read", "write"])


@pytest.fixture
def charlie(team_b: Team) -> Member:
    return _member("charlie", "analyst", team_b, ["read"])


@pytest.fixture
def ada(db: None) -> Member:
    return _member("ada", "admin", None, ["read", "write", "admin"])


@pytest.fixture
def system() -> Actor:
    return Actor.system("test")


@pytest.fixture
def api(client: Client):  # type: ignore[no-untyped-def]
    """A JSON client for /api/v1: api.post("/customers", member, json_body, **headers)."""

    class ApiClient:
        def _call(self, method: str, path: str, member: Member | None, body: object = None, **extra: str):  # type: ignore[no-untyped-def]
            headers = member.headers() if member else {}
            headers.update(extra)
            kwargs = {"content_type": "application/json"} if body is not None else {}
            return getattr(client, method)(f"/api/v1{path}", data=body, **kwargs, **headers)

        def get(self, path: str, member: Member | None = None, **extra: str):  # type: ignore[no-untyped-def]
            return client.get(f"/api/v1{path}", **(member.headers() if member else {}), **extra)

        def post(self, path: str, member: Member | None, body: object = None, **extra: str):  # type: ignore[no-untyped-def]
            return self._call("post", path, member, body if body is not None else {}, **extra)

        def patch(self, path: str, member: Member | None, body: object, **extra: str):  # type: ignore[no-untyped-def]
            return self._call("patch", path, member, body, **extra)

        def delete(self, path: str, member: Member | None, **extra: str):  # type: ignore[no-untyped-def]
            return self._call("delete", path, member, None, **extra)

    return ApiClient()
