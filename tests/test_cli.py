"""The command line in-process (click's CliRunner): exit codes, the one error line, no
traceback. Commands that need a real process (serve, a running bridge) are tested elsewhere."""

import json

import pytest
from click.testing import CliRunner

from bridge import __version__
from bridge.cli import main
from bridge.cli.exit_status import ExitStatus
from support import CANARY_KEY, bridge_env, refusing_port


@pytest.fixture
def cli(tmp_path):
    runner = CliRunner()

    def run(*args, **env):
        base = bridge_env(tmp_path / "home", api_key=None, AIHD_PORT=str(port))
        return runner.invoke(main, [str(a) for a in args], env=base | env, catch_exceptions=False)

    with refusing_port() as port:  # no bridge answers there, whatever else runs on the machine
        yield run


def test_version_and_help(cli):
    assert cli("--version").output.strip().endswith(__version__)
    helped = cli("-h")
    assert helped.exit_code == ExitStatus.SUCCESS and "upload" in helped.output


def test_a_wrong_service_is_a_usage_error(cli, tmp_path):
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8")
    result = cli("upload", "--service", "moonlight", photo)
    assert result.exit_code == ExitStatus.USAGE and "unknown service 'moonlight'" in result.output


def test_a_broken_config_is_one_line_and_exit_1(cli, tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text("workers = 'many'\n")
    result = cli("status")
    assert result.exit_code == ExitStatus.ERROR
    assert result.output.startswith("error: ") and "workers" in result.output
    assert "Traceback" not in result.output


def test_bridge_only_without_a_bridge_exits_3_with_json(cli, tmp_path):
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8")
    result = cli("upload", "--bridge-only", "--json", photo)
    assert result.exit_code == ExitStatus.NO_BRIDGE
    assert "not running" in json.loads(result.stdout)["error"]


def test_status_with_nothing_running(cli):
    result = cli("status", "--json")
    assert result.exit_code == ExitStatus.ERROR and json.loads(result.stdout)["running"] is False


def test_config_show_never_shows_the_key(cli):
    result = cli("config", "show", AIHD_API_KEY=CANARY_KEY)
    assert result.exit_code == ExitStatus.SUCCESS and CANARY_KEY not in result.output
