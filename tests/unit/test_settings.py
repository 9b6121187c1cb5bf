import pytest

from omnilake.errors import ConfigError
from omnilake.settings import DEV_PSEUDONYM_KEY, LakeRoot, Settings, get_settings, reset_settings

pytestmark = pytest.mark.unit


def test_local_lake_root_resolves_to_an_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = LakeRoot(".omnilake")
    assert root.is_local
    assert root.uri == str(tmp_path / ".omnilake")
    assert root.join("bronze", "orders") == f"{tmp_path}/.omnilake/bronze/orders"


def test_object_store_uri_parses_and_keeps_its_scheme():
    root = LakeRoot("s3://retail-lake/omnilake/")
    assert not root.is_local
    assert root.scheme == "s3"
    assert root.join("silver", "orders") == "s3://retail-lake/omnilake/silver/orders"
    with pytest.raises(ConfigError, match="needs a local lake root"):
        _ = root.local_path


def test_unknown_uri_scheme_is_refused():
    with pytest.raises(ConfigError, match="ftp://"):
        LakeRoot("ftp://somewhere/lake")


def test_spark_remote_selects_the_remote_engine(monkeypatch):
    monkeypatch.setenv("SPARK_REMOTE", "sc://cluster.internal:15002")
    monkeypatch.delenv("OMNILAKE_ENGINE", raising=False)
    settings = Settings()
    assert settings.engine == "remote"
    assert settings.spark_remote == "sc://cluster.internal:15002"


def test_malformed_spark_remote_is_a_config_error(monkeypatch):
    monkeypatch.setenv("SPARK_REMOTE", "http://cluster:15002")
    reset_settings()
    with pytest.raises(ConfigError, match="sc://host:port"):
        get_settings()
    reset_settings()


def test_production_refuses_the_development_pseudonym_key(monkeypatch):
    monkeypatch.setenv("OMNILAKE_ENV", "prod")
    monkeypatch.delenv("OMNILAKE_PSEUDONYM_KEY", raising=False)
    reset_settings()
    with pytest.raises(ConfigError, match="OMNILAKE_PSEUDONYM_KEY"):
        get_settings()
    monkeypatch.setenv("OMNILAKE_PSEUDONYM_KEY", "a-real-secret-from-the-vault")
    reset_settings()
    assert get_settings().pseudonym_key.get_secret_value() != DEV_PSEUDONYM_KEY
    reset_settings()


def test_secrets_never_appear_in_the_settings_repr(monkeypatch):
    monkeypatch.setenv("OMNILAKE_PSEUDONYM_KEY", "do-not-log-me")
    assert "do-not-log-me" not in repr(Settings())
