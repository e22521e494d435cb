"""The `aihd-bridge` command line."""

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


def _service_option(value: str | None) -> str | None:
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
@click.option("--service", "-s", callback=lambda c, p, v: _service_option(v),
              help="service to order, e.g. day-to-dusk or service-item-removal "
                   "(default: image enhancement)")
@click.option("--json", "as_json", is_flag=True, help="print results as JSON for scripts")
@click.option("--attempts", type=click.IntRange(1, 20), default=3, show_default=True,
              help="tries per file on network errors, 429 and 5xx")
@click.option("--keep-heic", is_flag=True, help="send HEIC/HEIF as is instead of as JPEG")
def upload(paths, service, as_json, attempts, keep_heic) -> None:
    """Upload photos and print one order id (or one error) per file."""
    from .backoff import Backoff
    from .services import FALLBACK_SERVICE
    from .upload_cli import upload_in_process

    settings = _settings(convert_heic=False if keep_heic else None)
    results = upload_in_process(settings, list(paths), service or FALLBACK_SERVICE,
                                attempts=attempts, backoff=Backoff(), show_progress=not as_json)
    _print_results(results, settings, as_json)
    sys.exit(0 if all(r["ok"] for r in results) else 1)


def _print_results(results: list[dict], settings: Settings, as_json: bool) -> None:
    if as_json:
        mode = "sandbox" if settings.sandbox else "live"
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
