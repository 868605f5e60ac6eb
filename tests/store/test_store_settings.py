"""Settings: embedded defaults, team-mode refusals, readable errors."""

import pytest
from tidelens.settings import SettingsError, load_settings


def test_embedded_defaults_create_folders_and_secrets(tmp_path):
    s = load_settings(data_dir=tmp_path / "d")
    assert s.database_url == f"sqlite:///{tmp_path / 'd' / 'tidelens.db'}"
    assert s.broker_url == "filesystem://localhost//" and s.storage == "local"
    assert (tmp_path / "d" / "queue" / "messages").is_dir()
    token = (tmp_path / "d" / "api-token").read_text().strip()
    assert s.api_token == token and len(token) >= 32
    assert load_settings(data_dir=tmp_path / "d").api_token == token  # reused


def test_team_mode_refuses_unsafe_defaults(tmp_path):
    with pytest.raises(SettingsError) as exc:
        load_settings(mode="team", data_dir=tmp_path)
    text = str(exc.value)
    for name in (
        "TIDELENS_DATABASE_URL",
        "TIDELENS_BROKER_URL",
        "TIDELENS_S3_ENDPOINT",
        "TIDELENS_API_TOKEN",
    ):
        assert name in text
    ok = load_settings(
        mode="team",
        environment="development",
        data_dir=tmp_path,
        database_url="sqlite:///x.db",
        broker_url="redis://h/0",
        storage="local",
    )
    assert ok.result_backend == "redis://h/0"


def test_invalid_values_name_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("TIDELENS_MODE", "cluster")
    with pytest.raises(SettingsError, match="TIDELENS_MODE"):
        load_settings(data_dir=tmp_path)
