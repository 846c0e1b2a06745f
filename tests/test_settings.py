"""What the settings make of a few environment variables: where the embedded parts keep their
files, and which Host names the web app answers to."""

from __future__ import annotations

from pathlib import Path

import pytest

from kringloop.settings import Settings


def test_the_embedded_database_and_temporal_live_in_the_home_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setenv("KRINGLOOP_HOME", str(tmp_path / "var"))
    settings = Settings()

    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'kringloop.db'}"
    assert settings.embedded_temporal_file == tmp_path / "var" / "temporal.db"


def test_temporal_in_memory_only_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRINGLOOP_TEMPORAL_STORAGE", "memory")

    assert Settings().embedded_temporal_file is None


def test_the_web_app_answers_to_its_public_name_its_address_and_loopback_only() -> None:
    public = Settings(public_url="https://nps.fietsenwinkel.example/kringloop",
                      web_host="0.0.0.0", allowed_hosts=("10.1.2.3",))
    bound = Settings(web_host="192.168.1.20")

    assert public.trusted_hosts == ["10.1.2.3", "127.0.0.1", "::1", "localhost",
                                    "nps.fietsenwinkel.example"]
    assert "192.168.1.20" in bound.trusted_hosts and "0.0.0.0" not in public.trusted_hosts
