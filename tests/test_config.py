from pathlib import Path

import pytest

from bridge.config import DEFAULT_API_URL, ConfigError, load_settings
from support import CANARY_KEY


def test_defaults_and_environment(tmp_path):
    s = load_settings({"AIHD_HOME": str(tmp_path)})
    assert s.home == tmp_path and s.api_url == DEFAULT_API_URL and s.sandbox
    assert s.upload_url == "https://api.aihomedesign.com/v1/order/image"
    s = load_settings(
        {
            "AIHD_HOME": str(tmp_path),
            "AIHD_API_KEY": CANARY_KEY,
            "AIHD_API_URL": "http://127.0.0.1:9/",
            "AIHD_PORT": "5000",
        }
    )
    assert not s.sandbox and s.upload_url == "http://127.0.0.1:9/v1/order/image" and s.port == 5000
    assert CANARY_KEY not in repr(s)


def test_file_below_environment(tmp_path):
    (tmp_path / "config.toml").write_text('api_url = "http://127.0.0.1:8"\nworkers = 5\n')
    s = load_settings({"AIHD_HOME": str(tmp_path)})
    assert s.api_url == "http://127.0.0.1:8" and s.workers == 5
    s = load_settings({"AIHD_HOME": str(tmp_path), "AIHD_API_URL": "http://127.0.0.1:7"})
    assert s.api_url == "http://127.0.0.1:7"


@pytest.mark.parametrize(
    "text,words",
    [
        ("workers = \n", "line 1"),
        ('colour = "blue"\n', "unknown setting 'colour'"),
        ('workers = "three"\n', "workers has the wrong type"),
    ],
)
def test_bad_config_file_is_named(tmp_path, text, words):
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_settings({"AIHD_HOME": str(tmp_path)})


def test_bad_port(tmp_path):
    with pytest.raises(ConfigError, match="AIHD_PORT"):
        load_settings({"AIHD_HOME": str(tmp_path), "AIHD_PORT": "http"})


def test_default_home_is_the_platform_data_dir():
    s = load_settings({})
    assert isinstance(s.home, Path) and "aihd-bridge" in str(s.home)
