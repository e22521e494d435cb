from pathlib import Path

import pytest

from bridge.core.config import DEFAULT_API_URL, ConfigError, load_settings
from support import CANARY_KEY


def test_defaults_and_environment(tmp_path):
    s = load_settings({"AIHD_HOME": str(tmp_path)})
    assert s.home == tmp_path and s.api_url == DEFAULT_API_URL and s.sandbox
    assert s.api_version == "auto" and (s.submit_limit, s.submit_window) == (10, 600)
    s = load_settings(
        {
            "AIHD_HOME": str(tmp_path),
            "AIHD_API_KEY": CANARY_KEY,
            "AIHD_API_URL": "http://127.0.0.1:9/",
            "AIHD_PORT": "5000",
            "AIHD_API_VERSION": "v1",
        }
    )
    assert not s.sandbox and s.api_url == "http://127.0.0.1:9/" and s.port == 5000 and s.api_version == "v1"
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


def test_watch_tables_are_read_with_their_lines(tmp_path):
    (tmp_path / "config.toml").write_text(
        'workers = 2\n\n[[watch]]\ndir = "~/Exports/"\nservice = "day-to-dusk"\n\n'
        '[[watch]]\ndir = "/srv/shoots"\npreset = "auto"\nsubmit = true\nresults = "/srv/results"\n'
        "move_done = true\npoll = true\n"
    )
    s = load_settings({"AIHD_HOME": str(tmp_path)})
    first, second = s.watches
    assert first.dir == Path("~/Exports").expanduser() and first.service == "day-to-dusk"
    assert (first.line, second.line) == (3, 7)
    assert second.preset == "auto" and second.submit and second.move_done and second.poll
    assert second.results == Path("/srv/results")
    assert load_settings({"AIHD_HOME": str(tmp_path / "none")}).watches == ()


@pytest.mark.parametrize(
    "text,words",
    [
        (
            '[[watch]]\nservice = "day-to-dusk"\n',
            "[[watch]] needs a dir: the folder to watch (at line 1, column 1)",
        ),
        ('\n[[watch]]\ndir = "/a"\n  colour = "red"\n', "unknown key 'colour' (known: dir, service, preset"),
        ('\n[[watch]]\ndir = "/a"\n  colour = "red"\n', "(at line 4, column 3)"),
        ('[[watch]]\ndir = "/a"\nsubmit = "yes"\n', "submit must be true or false (at line 3, column 1)"),
        ("[[watch]]\ndir = 5\n", "dir must be text (at line 2, column 1)"),
        ('[[watch]]\ndir = "Exports"\n', "dir must be an absolute path (or start with ~) (at line 2"),
        (
            '[[watch]]\ndir = "/a"\nservice = "x"\npreset = "y"\n',
            "a service or a preset, not both (at line 4",
        ),
        ('[[watch]]\ndir = "/a"\n[[watch]]\ndir = "/a/"\n', "watches /a again (also at line 1) (at line 4"),
        ('watch = "/a"\n', "write each watched folder as a [[watch]] table"),
        ('watch = [{service = "x"}]\n', "watch entry 1 needs a dir"),
    ],
)
def test_bad_watch_tables_are_named_with_line_and_column(tmp_path, text, words):
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings({"AIHD_HOME": str(tmp_path)})
    assert str(tmp_path / "config.toml") in str(err.value) and words in str(err.value)


def test_api_version_is_auto_v3_or_v1(tmp_path):
    with pytest.raises(ConfigError, match="AIHD_API_VERSION must be one of auto, v3, v1"):
        load_settings({"AIHD_HOME": str(tmp_path), "AIHD_API_VERSION": "v2"})
    (tmp_path / "config.toml").write_text('api_version = "v4"\n')
    with pytest.raises(ConfigError, match="api_version must be one of auto, v3, v1"):
        load_settings({"AIHD_HOME": str(tmp_path)})
    (tmp_path / "config.toml").write_text('api_version = "v3"\nsubmit_limit = 4\nsubmit_window = 60\n')
    s = load_settings({"AIHD_HOME": str(tmp_path)})
    assert (s.api_version, s.submit_limit, s.submit_window) == ("v3", 4, 60)
