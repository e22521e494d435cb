"""The `aihd-bridge` command line. Commands import what they need when they run, so that
`--help` and start-up stay fast."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from . import __version__
from .config import ConfigError, Settings, load_settings


def _settings(**overrides) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _service_option(_ctx, _param, value: str | None) -> str | None:
    from .services import UnknownService, canonical_service

    if value is None:
        return None
    try:
        return canonical_service(value)
    except UnknownService as exc:
        raise click.BadParameter(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aihd-bridge")
def main() -> None:
    """Send photos to the AI HomeDesign API and get their order ids back."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--service", "-s", callback=_service_option,
              help="service to order, e.g. day-to-dusk or service-item-removal")
@click.option("--preset", "-p", help="a preset from presets.toml (default: auto, chosen "
                                     "from each photo by the rules)")
@click.option("--json", "as_json", is_flag=True, help="print results as JSON for scripts")
@click.option("--attempts", type=click.IntRange(1, 20), default=3, show_default=True,
              help="tries per file on network errors, 429 and 5xx (without a bridge)")
@click.option("--keep-heic", is_flag=True, help="send HEIC/HEIF as is instead of as JPEG")
@click.option("--force", is_flag=True, help="send even photos already ordered (with a bridge)")
@click.option("--no-bridge", is_flag=True, help="upload from this process even if a bridge runs")
def upload(paths, service, preset, as_json, attempts, keep_heic, force, no_bridge) -> None:
    """Upload photos and print one order id (or one error) per file."""
    from .backoff import Backoff
    from .discovery import running_bridge
    from .upload_cli import upload_in_process, upload_via_bridge

    settings = _settings(convert_heic=False if keep_heic else None)
    bridge = None if no_bridge or keep_heic else running_bridge(settings.home)
    if bridge is not None:
        mode = "sandbox" if bridge.get("/v1/health")["mode"] == "sandbox" else "live"
        if mode == "sandbox":
            from .remote import SANDBOX_NOTICE

            click.secho(SANDBOX_NOTICE, fg="yellow", err=True)
        results = upload_via_bridge(bridge, list(paths), service=service, preset=preset,
                                    force=force, show_progress=not as_json)
    else:
        mode = "sandbox" if settings.sandbox else "live"
        results = upload_in_process(settings, list(paths), service=service, preset=preset,
                                    attempts=attempts, backoff=Backoff(),
                                    show_progress=not as_json)
    _print_results(results, mode, as_json)
    sys.exit(0 if all(r["ok"] for r in results) else 1)


def _print_results(results: list[dict], mode: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"mode": mode, "results": results}, indent=2))
        return
    for r in results:
        if r["ok"]:
            click.echo(f"OK    {r['path']}  {r['service_name']}  order {r['order_id']}")
        else:
            click.echo(f"FAIL  {r['error']}")
    failed = sum(not r["ok"] for r in results)
    summary = f"{len(results) - failed} uploaded, {failed} failed"
    click.echo(summary if not failed else click.style(summary, fg="red"), err=True)


@main.command()
def serve() -> None:
    """Run the bridge on 127.0.0.1 (port 47311, or AIHD_PORT) until stopped."""
    from .daemon import AlreadyRunning, serve as run

    settings = _settings()
    try:
        run(settings, echo=lambda text: click.echo(text, err=True))
    except AlreadyRunning as exc:
        click.echo(str(exc), err=True)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--json", "as_json", is_flag=True)
def status(as_json) -> None:
    """Is the bridge running; its mode, queue and recent failures."""
    from .discovery import running_bridge

    settings = _settings()
    bridge = running_bridge(settings.home)
    if bridge is None:
        report = {"running": False, "home": str(settings.home)}
    else:
        report = {"running": True, "url": bridge.url, "pid": bridge.info.get("pid"),
                  "home": str(settings.home), **bridge.get("/v1/health"),
                  "recent_failures": bridge.get("/v1/history", state="failed", limit=5)["items"]}
    if as_json:
        click.echo(json.dumps(report, indent=2))
    elif not report["running"]:
        click.echo(f"the bridge is not running (data dir {settings.home}); "
                   "start it with: aihd-bridge serve")
    else:
        q = report["queue"]
        click.echo(f"running at {report['url']} (pid {report['pid']}), {report['mode']} mode, "
                   f"version {report['version']}")
        click.echo(f"queue: {q['queued']} queued ({q['waiting']} waiting to retry), "
                   f"{q['uploading']} uploading, {q['done']} done, {q['failed']} failed")
        for item in report["recent_failures"]:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(item["finished_at"] or 0))
            click.echo(f"  failed {when}  {item['error']}")
    sys.exit(0 if report["running"] else 1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--service", "-s", callback=_service_option)
@click.option("--preset", "-p")
@click.option("--json", "as_json", is_flag=True)
def inspect(paths, service, preset, as_json) -> None:
    """Show what the bridge reads from photos and which service it would pick, and why."""
    from .inspection import inspect_file
    from .rules import Rules

    settings = _settings()
    rules = Rules.load(settings.home)
    if rules.problem:
        click.secho(f"warning: {rules.problem}", fg="yellow", err=True)
    reports = [inspect_file(p, rules, settings.max_upload_bytes, service=service, preset=preset)
               for p in paths]
    if as_json:
        click.echo(json.dumps(reports, indent=2))
    else:
        for report in reports:
            _print_inspection(report)
    sys.exit(1 if any("error" in r for r in reports) else 0)


_FACTS = (("camera", ("make", "model")), ("lens", ("lens_model",)),
          ("taken", ("date_time_original", "offset_time_original")),
          ("exposure", ("exposure_time", "f_number", "iso", "focal_length")),
          ("size", ("width", "height")), ("GPS", ("gps_latitude", "gps_longitude")),
          ("keywords", ("keywords",)), ("label", ("label",)), ("rating", ("rating",)),
          ("orientation", ("orientation",)))


def _print_inspection(report: dict) -> None:
    click.secho(report["path"], bold=True)
    if "format" in report:
        click.echo(f"  {'format':<12}{report['format']}, {report['size']:,} bytes")
    meta = report.get("metadata", {})
    for label, keys in _FACTS:
        values = [meta[k] for k in keys if k in meta]
        if values:
            text = ", ".join(", ".join(v) if isinstance(v, list) else str(v) for v in values)
            click.echo(f"  {label:<12}{text}")
    if report.get("metadata_error"):
        click.echo(f"  {'metadata':<12}unreadable: {report['metadata_error']}")
    if "error" in report:
        click.secho(f"  {report['error']}", fg="red")
    else:
        click.echo(f"  {'service':<12}{report['service_name']}: {report['reason']}")


@main.command()
@click.option("--port", type=int, default=47312, show_default=True)
@click.option("--max-bytes", type=int, default=50_000_000, show_default=True)
def sandbox(port, max_bytes) -> None:
    """Run the embedded stand-in of the AI HomeDesign API on 127.0.0.1, printing what it gets."""
    from .httpserver import BackgroundServer
    from .sandbox import SandboxState, create_sandbox_app

    state = SandboxState(max_bytes=max_bytes)
    with BackgroundServer(create_sandbox_app(state), port=port) as server:
        click.echo(f"sandbox API at {server.url}  (AIHD_API_URL={server.url} to use it)", err=True)
        seen = 0
        try:
            while True:
                time.sleep(0.5)
                for r in state.received[seen:]:
                    click.echo(json.dumps(r))
                seen = len(state.received)
        except KeyboardInterrupt:
            pass
