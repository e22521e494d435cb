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


def test_a_commands_own_error_is_one_line_and_its_exit_code(cli, tmp_path):
    result = cli("watch", "--remove", tmp_path / "nowhere")
    assert result.exit_code == ExitStatus.ERROR
    assert result.output == f"error: {tmp_path / 'nowhere'} is not watched\n"


@pytest.mark.parametrize(
    ("raised", "line"),
    [
        (KeyboardInterrupt(), "interrupted"),
        (KeyboardInterrupt("stopped watching; the bridge goes on"), "stopped watching; the bridge goes on"),
    ],
)
def test_ctrl_c_is_a_line_and_exit_130(cli, tmp_path, monkeypatch, raised, line):
    def interrupted(*_args, **_kw):
        raise raised

    monkeypatch.setattr("bridge.photo.inspection.inspect_file", interrupted)
    result = cli("inspect", tmp_path / "p.jpg")
    assert result.exit_code == ExitStatus.INTERRUPTED and result.output == f"\n{line}\n"


def test_commands_leave_exiting_to_bridge_group():
    """ARCHITECTURE.md's sentence, kept: commands raise their errors or return their exit
    status, and only `BridgeGroup.invoke` exits (background.py is a process's own main, run
    by pythonw, not a command)."""
    import inspect
    import re
    from pathlib import Path

    from bridge.cli.commands import BridgeGroup

    group = inspect.getsource(BridgeGroup)
    for module in Path(inspect.getfile(BridgeGroup)).parent.glob("*.py"):
        if module.name != "background.py":
            source = module.read_text("utf-8").replace(group, "")
            assert not re.search(r"sys\.exit|SystemExit|ctx\.exit|ClickException", source), module.name


def test_docs_cli_md_names_every_command_and_option():
    from pathlib import Path

    import click

    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text("utf-8")
    missing = []

    def walk(command: click.Command, words: list[str]) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*words, name])
            return
        if " ".join(words) not in text:
            missing.append(" ".join(words))
        for param in command.params:
            flags = [f for f in param.opts + param.secondary_opts if f.startswith("--") and f != "--help"]
            missing.extend(f"{' '.join(words)} {flag}" for flag in flags if flag not in text)

    walk(main, [])
    assert not missing, missing
