"""An operator hands team members their sign-in secrets: `kringloop member`, `kringloop token`."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kringloop.database import session_for
from kringloop.security.credentials import api_tokens_of, password_matches
from tests.support.command import kringloop
from tests.support.kringloop import Kringloop
from tests.support.people import JOOST


def test_a_member_gets_a_password_set_from_a_script(
    tmp_path: Path, engine: Engine, database_url: str,
) -> None:
    result = kringloop("member", "set-password", "Joost.Bakker@fietsenwinkel.example", "--stdin",
                       cwd=tmp_path, database_url=database_url,
                       stdin="fietsen-en-koffie\n")

    assert result.returncode == 0, result.stderr
    assert "Joost Bakker" in result.stdout
    with session_for(engine) as session:
        assert password_matches(session=session, email=JOOST, password="fietsen-en-koffie")
        assert not password_matches(session=session, email=JOOST, password="fietsen-en-thee")


def test_a_password_under_twelve_characters_is_refused(
    tmp_path: Path, engine: Engine, database_url: str,
) -> None:
    result = kringloop("member", "set-password", JOOST, "--stdin",
                       cwd=tmp_path, database_url=database_url, stdin="kort-wacht\n")

    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.strip().splitlines() == [
        "kringloop: a password needs at least 12 characters"]
    with session_for(engine) as session:
        assert not password_matches(session=session, email=JOOST, password="kort-wacht")


def moments(listed: subprocess.CompletedProcess[str], token_id: str) -> int:
    """How many times (made, last used, revoked) `token list` shows on the token's row."""
    [row] = [line for line in listed.stdout.splitlines() if token_id in line]
    return len(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", row))


OUTSIDER_COMMANDS = [["member", "set-password", "--stdin"], ["token", "create"], ["token", "list"]]


@pytest.mark.parametrize("command", OUTSIDER_COMMANDS, ids=" ".join)
def test_someone_outside_the_organisation_gets_no_secret(
    tmp_path: Path, database_url: str, command: list[str],
) -> None:
    result = kringloop(*command, "stranger@example.com", cwd=tmp_path,
                       database_url=database_url, stdin="a long enough secret\n")

    assert result.returncode == 2, (result.stdout, result.stderr)
    [line] = result.stderr.strip().splitlines()
    assert "stranger@example.com is not a member or admin" in line


async def test_a_personal_token_opens_the_api_until_it_is_revoked(
    tmp_path: Path, live: Kringloop,
) -> None:
    async def run(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(kringloop, *args, cwd=tmp_path,
                                       database_url=live.settings.database_url)

    async def me() -> int:
        answer = await live.api.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
        if answer.status_code == 200:
            assert answer.json()["email"] == JOOST
        return answer.status_code

    created = await run("token", "create", JOOST, "--label", "laptop script")
    assert created.returncode == 0, created.stderr
    found = re.search(r"^kl_([0-9a-f]+)_\S+$", created.stdout, re.MULTILINE)
    assert found, created.stdout
    secret, token_id = found.group(0), found.group(1)
    assert f"Token {token_id} for Joost Bakker" in created.stdout
    assert moments(await run("token", "list", JOOST), token_id) == 1  # made, never used
    assert await me() == 200

    listed = await run("token", "list", JOOST)
    assert listed.returncode == 0, listed.stderr
    assert token_id in listed.stdout and "laptop script" in listed.stdout
    assert moments(listed, token_id) == 2  # made, and last used
    assert secret not in listed.stdout
    assert secret.removeprefix(f"kl_{token_id}_")[:12] not in listed.stdout
    with session_for(live.engine) as session:
        [token] = api_tokens_of(session=session, email=JOOST)
    assert await me() == 200
    with session_for(live.engine) as session:  # used again within the minute: no write
        assert api_tokens_of(session=session, email=JOOST)[0].last_used_at == token.last_used_at

    revoked = await run("token", "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    assert await me() == 401
    listed = await run("token", "list", JOOST)  # all three times, and still in 80 columns
    assert "laptop script" in listed.stdout and moments(listed, token_id) == 3

    again = await run("token", "revoke", token_id)
    assert again.returncode == 1
    assert "no such active token" in again.stderr
