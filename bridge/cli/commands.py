"""The `aihd-bridge` command line. Commands import what they need when they run, so that
`--help` and start-up stay fast."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..core.config import ConfigError, Settings, load_settings
from .exit_status import CliError, ExitStatus


def _settings(**overrides) -> Settings:
    return load_settings(**overrides)  # a ConfigError is reported by BridgeGroup


def _service_option(_ctx, _param, value: str | None) -> str | None:
    from ..photo.services import UnknownService, canonical_service

    if value is None:
        return None
    try:
        return canonical_service(value)
    except UnknownService as exc:
        raise click.BadParameter(str(exc)) from None


class BridgeGroup(click.Group):
    """The one place the command line turns errors into a line on stderr and an exit code.
    Commands raise them: a `CliError`, or the settings', the bridge's or the remote's error,
    let rise (click's own usage errors it leaves to click, which prints the usage with them).
    A command whose answer is an exit code (did every photo get its order, does the bridge
    run) returns its `ExitStatus`, and this exits with it."""

    def invoke(self, ctx: click.Context) -> Any:
        from ..discovery import BridgeError
        from ..remote.client import RemoteError

        try:
            answer = super().invoke(ctx)
        except CliError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(exc.status)
        except (ConfigError, BridgeError, RemoteError) as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(ExitStatus.ERROR)
        except KeyboardInterrupt as exc:
            # A command that leaves work going on says so in the interrupt it raises.
            click.echo(f"\n{str(exc) or 'interrupted'}", err=True)
            ctx.exit(ExitStatus.INTERRUPTED)
        if isinstance(answer, ExitStatus):
            ctx.exit(answer)
        return answer


@click.group(cls=BridgeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aihd-bridge")
def main() -> None:
    """Send photos to the AI HomeDesign API and get their order ids back."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--items",
    "items_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help='a UTF-8 JSON file {"items": [{"path", "source_id", "project"?}]}: photos with the id '
    "their host knows them by, and the property each is of (hosts use it so no path goes through a shell)",
)
@click.option(
    "--service",
    "-s",
    callback=_service_option,
    help="service to order, e.g. day-to-dusk or service-item-removal",
)
@click.option(
    "--preset", "-p", help="a preset from presets.toml (default: auto, chosen from each photo by the rules)"
)
@click.option("--json", "as_json", is_flag=True, help="print results as JSON for scripts")
@click.option(
    "--attempts",
    type=click.IntRange(1, 20),
    help="tries per photo on errors worth retrying (default: max_attempts of the settings); "
    "for the bridge run in this process, when none is running",
)
@click.option(
    "--keep-heic",
    is_flag=True,
    help="send HEIC/HEIF as is instead of as JPEG (when no bridge is running: a running one "
    "follows its convert_heic setting)",
)
@click.option("--force", is_flag=True, help="send even photos already ordered")
@click.option(
    "--bridge-only",
    is_flag=True,
    help="fail (exit code 3) when no bridge runs instead of uploading from here",
)
@click.option(
    "--client",
    default="cli",
    show_default=True,
    help="who hands the photos over, recorded with the bridge's batch",
)
@click.option(
    "--submit/--no-submit",
    default=None,
    help="submit each order after its upload: a submit is a charge, it uses credits "
    "(default: what the preset says, else no)",
)
@click.option("--space", help="the room, for services that need one: a title from `aihd-bridge catalog`")
@click.option(
    "--widget",
    "widgets",
    multiple=True,
    metavar="WIDGET=ITEM",
    help="a widget's choice, e.g. Style=Modern (repeatable); see `aihd-bridge catalog SERVICE`",
)
@click.option(
    "--project",
    help="the property these photos are of (an address or a name): v3 orders go into its "
    "project, made when there is none; on v1 it is kept and shown. An --items file's item "
    'may name its own ("project")',
)
@click.option("--wait", is_flag=True, help="wait for the results and print their paths")
@click.option(
    "--results",
    "results_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="folder for the results (default: results/ in the data dir, or the preset's)",
)
def upload(
    paths,
    items_file,
    service,
    preset,
    as_json,
    attempts,
    keep_heic,
    force,
    bridge_only,
    client,
    submit,
    space,
    widgets,
    project,
    wait,
    results_dir,
) -> ExitStatus:
    """Upload photos and print one order id (or one error) per file; with --submit, submit
    the orders too, and with --wait print each result's path as it arrives.

    The photos always go through the bridge's queue: the running bridge's, or, when none runs,
    the same bridge started in this process for as long as the command needs it."""
    from ..daemon import in_process
    from ..discovery import find_bridge
    from .order_views import widget_pairs
    from .upload import read_items

    items = [(p, str(p), {}) for p in paths] + (read_items(items_file) if items_file else [])
    if not items:
        raise click.UsageError("no photos: give PATHS or --items FILE")
    order = {
        k: v
        for k, v in {
            "submit": submit,
            "space": space,
            "widgets": widget_pairs(widgets) or None,
            "results_dir": str(results_dir.absolute()) if results_dir else None,
        }.items()
        if v is not None
    }
    if project:
        order["project"] = project
    overrides = {"convert_heic": False if keep_heic else None, "max_attempts": attempts}
    settings = _settings(**overrides)
    found = find_bridge(settings.home)
    if found.bridge is not None:
        if keep_heic:
            raise click.UsageError(
                "--keep-heic: the running bridge converts HEIC as its setting convert_heic says "
                "(aihd-bridge config show); stop it (aihd-bridge stop) to send them as they are"
            )
        return _upload_and_follow(found.bridge, items, service, preset, force, as_json, client, order, wait)
    if bridge_only:
        return _no_bridge(settings.home, as_json, found.note)
    if found.note:
        click.secho(f"note: {found.note}", fg="yellow", err=True)
    until = "their results are in" if wait else "the orders are submitted" if order else "they are uploaded"
    click.echo(f"no bridge is running: one runs in this process until {until}", err=True)
    with in_process(settings) as local:
        return _upload_and_follow(local, items, service, preset, force, as_json, client, order, wait)


def _upload_and_follow(bridge, items, service, preset, force, as_json, client, order, wait) -> ExitStatus:
    """Upload through `bridge`, print the order ids, then follow the orders: submitted, and
    with `wait` finished (each result's path printed as it arrives). The exit status says
    whether every photo got its order: a script or host reads it before any output."""
    from ..discovery import BridgeError
    from .order_views import follow, order_summary
    from .upload import bridge_result, upload_via_bridge

    try:
        mode = "sandbox" if bridge.get("/v1/health")["mode"] == "sandbox" else "live"
        if mode == "sandbox":
            from ..connect import SANDBOX_NOTICE

            click.secho(SANDBOX_NOTICE, fg="yellow", err=True)
        batch_id, results = upload_via_bridge(
            bridge,
            items,
            service=service,
            preset=preset,
            force=force,
            show_progress=not as_json,
            client=client,
            order=order,
        )
        if not as_json:
            _print_results(results, mode, as_json=False)
        final = follow(bridge, batch_id, wait=wait, echo=not as_json)
    except BridgeError as exc:
        raise BridgeError(f"the bridge at {bridge.url} could not take the photos: {exc}") from None
    results = [bridge_result(i) for i in final]
    if as_json:
        _print_results(results, mode, as_json=True)
    elif any(i["submit"] for i in final):
        click.echo(order_summary(final, wait), err=True)
    return ExitStatus.SUCCESS if all(r["ok"] for r in results) else ExitStatus.ERROR


def _no_bridge(home: Path, as_json: bool, note: str | None = None) -> ExitStatus:
    """The answer of `upload --bridge-only` when no bridge runs, in the output asked for (the
    JSON's shape stays that of an upload), and its own exit code, 3, for a host (darktable)
    to tell "start the bridge" apart from a failed photo."""
    message = (
        f"the AI HomeDesign bridge is not running (data dir {home}"
        f"{'; ' + note if note else ''}); start it with: aihd-bridge serve"
    )
    if as_json:
        click.echo(json.dumps({"mode": None, "error": message, "results": []}, indent=2))
    else:
        click.echo(message, err=True)
    return ExitStatus.NO_BRIDGE


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
    from ..daemon import AlreadyRunning
    from ..daemon import serve as run

    settings = _settings()
    try:
        run(settings, echo=lambda text: click.echo(text, err=True))
    except AlreadyRunning as exc:
        click.echo(str(exc), err=True)
    except RuntimeError as exc:
        raise CliError(str(exc)) from None


@main.command()
@click.option("--json", "as_json", is_flag=True)
def status(as_json) -> ExitStatus:
    """Is the bridge running; its mode, queue and recent failures."""
    from ..discovery import BridgeError, find_bridge

    settings = _settings()
    found = find_bridge(settings.home)
    report: dict[str, Any] = {"running": False, "home": str(settings.home), "note": found.note}
    if found.bridge is not None:
        bridge = found.bridge
        try:
            report = {
                "running": True,
                "url": bridge.url,
                "pid": found.pid,
                "home": str(settings.home),
                **bridge.get("/v1/health"),
                "recent_failures": bridge.get("/v1/history", state="failed", limit=5)["items"],
                "watches": bridge.get("/v1/watches")["watches"],
            }
        except BridgeError as exc:
            report["note"] = str(exc)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    elif not report["running"]:
        click.echo(f"the bridge is not running (data dir {settings.home}); start it with: aihd-bridge serve")
        if report["note"]:
            click.echo(f"note: {report['note']}")
    else:
        q = report["queue"]
        click.echo(
            f"running at {report['url']} (pid {report['pid']}), {report['mode']} mode, "
            f"version {report['version']}"
        )
        click.echo(
            f"queue: {q['queued']} queued ({q['waiting']} waiting to retry), "
            f"{q['uploading']} uploading, {q['done']} done, {q['failed']} failed"
        )
        click.echo(_remote_line(report.get("remote")))
        click.echo(_api_line(report.get("api") or {}, report["mode"]))
        if report.get("orders"):
            click.echo(_orders_line(report["orders"]))
        if (report.get("submits") or {}).get("note"):
            click.echo(f"submits: {report['submits']['note']}")
        for view in report["watches"]:
            if view.get("problem"):  # a watch in trouble: stopped, or looking without file events
                click.echo(f"watch {view['dir']}: {view['problem']}")
        for item in report["recent_failures"]:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(item["finished_at"] or 0))
            click.echo(f"  failed {when}  {item['error']}")
        click.echo("status page: aihd-bridge open")
    # The exit code answers the question too, for scripts: 0 when the bridge runs.
    return ExitStatus.SUCCESS if report["running"] else ExitStatus.ERROR


def _api_line(api: dict, mode: str) -> str:
    where = "the embedded sandbox" if mode == "sandbox" else api.get("url", "the API")
    if api.get("version"):
        how = "as set" if api.get("setting") == api["version"] else "found out by asking it"
        return f"api: {api['version']} at {where} ({how})"
    return f"api: not known yet at {where} (asked at the first upload: api_version = auto)"


def _orders_line(orders: dict) -> str:
    line = (
        f"orders: {orders.get('submitting', 0)} submitting, {orders.get('processing', 0)} processing, "
        f"{orders.get('finished', 0)} finished, {orders.get('failed', 0)} failed"
    )
    unanswered = orders.get("unanswered_uploads", 0)
    if unanswered:
        line += (
            f"; {unanswered} uploads went unanswered (the API may have made orders the bridge "
            "never heard of: they are never submitted, so never charged)"
        )
    return line


def _remote_line(remote: Any) -> str:
    """The remote API's state in words: the photos are safe in the bridge meanwhile."""
    if remote is None:  # a bridge of an older version
        return "remote API: state unknown"

    def hhmm(epoch: float) -> str:
        return time.strftime("%H:%M:%S", time.localtime(epoch))

    if remote["state"] == "ok":
        return f"remote API: ok since {hhmm(remote['since'])}"
    what = {"unreachable": "out of reach", "rate_limited": "rate limiting uploads"}
    line = (
        f"remote API: {what.get(remote['state'], remote['state'])} since "
        f"{hhmm(remote['since'])}, next try {hhmm(remote['next_try'])}; the photos wait "
        f"safely in the bridge"
    )
    line += f" (last error: {remote['last_error']})" if remote["last_error"] else ""
    return click.style(line, fg="yellow")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=30, show_default=True)
@click.option(
    "--state",
    "order_state",
    type=click.Choice(["not_submitted", "submitting", "processing", "finished", "failed"]),
    help="only orders in this state",
)
def orders(as_json, limit, order_state) -> None:
    """Recent orders: their state, what was chosen, and the results on disk."""
    from ..discovery import running_bridge
    from .order_views import print_orders

    settings = _settings()
    bridge = running_bridge(settings.home)
    query = {"limit": limit} | ({"order_state": order_state} if order_state else {})
    if bridge is not None:  # a BridgeError is reported by BridgeGroup
        items = bridge.get("/v1/history", **query)["items"]
    else:  # no bridge: read the history from its database
        from ..queue.store import Store
        from ..runtime import DB_FILE

        if not (settings.home / DB_FILE).exists():
            items = []
        else:
            store = Store(settings.home / DB_FILE)
            try:
                items = [i.listed() for i in store.history(**query)]
            finally:
                store.close()
    items = [i for i in items if i["order_id"] or i["submit"]]
    if as_json:
        click.echo(json.dumps(items, indent=2))
    elif not items:
        click.echo("no orders yet")
    else:
        print_orders(items)


@main.command()
@click.argument("service", required=False, callback=_service_option)
@click.option("--json", "as_json", is_flag=True)
def catalog(service, as_json) -> None:
    """The spaces and widgets the API offers (for one SERVICE, or all): what --space and
    --widget, and presets' space and widgets, may name."""
    from ..discovery import running_bridge
    from ..photo.services import services
    from .order_views import catalog_of, print_catalog

    settings = _settings()
    bridge = running_bridge(settings.home)
    found = [catalog_of(bridge, settings, s) for s in ([service] if service else list(services()))]
    if as_json:
        click.echo(json.dumps(found if not service else found[0], indent=2))
        return
    if (
        bridge is None
        and settings.sandbox
        or bridge is not None
        and bridge.get("/v1/health")["mode"] == "sandbox"
    ):
        from ..connect import SANDBOX_NOTICE

        click.secho(SANDBOX_NOTICE, fg="yellow", err=True)
    for entry in found:
        print_catalog(entry)


@main.command("open")
@click.option("--no-browser", is_flag=True, help="print the address instead of opening it")
def open_page(no_browser) -> None:
    """Open the status page in the browser, signed in with a one-time link."""
    import webbrowser

    from ..discovery import BridgeError, running_bridge
    from .login_page import opener_page

    settings = _settings()
    bridge = running_bridge(settings.home)
    if bridge is None:
        raise CliError(
            f"the bridge is not running (data dir {settings.home}); start it with: aihd-bridge serve"
        )
    try:
        answer = bridge.post("/v1/session-code")
    except BridgeError as exc:
        raise CliError(f"the bridge gave no login link: {exc}") from None
    url, minutes = answer["url"], max(1, answer.get("expires_in", 300) // 60)
    if no_browser or not webbrowser.open(opener_page(settings.home, url).as_uri()):
        click.echo(f"open this address in your browser (it works once, within {minutes} minutes):\n  {url}")
    else:
        click.echo(f"opened the status page at {bridge.url}/")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--service", "-s", callback=_service_option)
@click.option("--preset", "-p")
@click.option("--json", "as_json", is_flag=True)
def inspect(paths, service, preset, as_json) -> ExitStatus:
    """Show what the bridge reads from photos and which service it would pick, and why."""
    from ..photo.inspection import inspect_file
    from ..photo.rules import Rules

    settings = _settings()
    rules = Rules.load(settings.home)
    if rules.problem:
        click.secho(f"warning: {rules.problem}", fg="yellow", err=True)
    reports = [
        inspect_file(p, rules, settings.max_upload_bytes, service=service, preset=preset) for p in paths
    ]
    if as_json:
        click.echo(json.dumps(reports, indent=2))
    else:
        for report in reports:
            _print_inspection(report)
    # 1 when a photo could not be read or would be refused: each says why in its report.
    return ExitStatus.ERROR if any("error" in r for r in reports) else ExitStatus.SUCCESS


@main.command()
@click.option("--json", "as_json", is_flag=True)
def presets(as_json) -> None:
    """The services and the presets (shipped and from presets.toml) an upload can name."""
    from ..photo.rules import Rules
    from ..photo.services import services

    rules = Rules.load(_settings().home)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "services": [{"name": n, "title": t} for n, t in services().items()],
                    "presets": [
                        {"name": p.name, "title": p.title, "service": p.service}
                        for p in rules.presets.values()
                    ],
                    "problem": rules.problem,
                },
                indent=2,
            )
        )
        return
    if rules.problem:
        click.secho(f"warning: {rules.problem}", fg="yellow", err=True)
    for p in rules.presets.values():
        click.echo(f"{p.name:<20}{p.title}  ({p.service})")


_FACTS = (
    ("camera", ("make", "model")),
    ("lens", ("lens_model",)),
    ("taken", ("date_time_original", "offset_time_original")),
    ("exposure", ("exposure_time", "f_number", "iso", "focal_length")),
    ("size", ("width", "height")),
    ("GPS", ("gps_latitude", "gps_longitude")),
    ("keywords", ("keywords",)),
    ("label", ("label",)),
    ("rating", ("rating",)),
    ("orientation", ("orientation",)),
)


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
@click.option(
    "--timeout", type=float, default=30, show_default=True, help="seconds to wait for uploads under way"
)
def stop(timeout) -> None:
    """Stop the running bridge (uploads under way finish; the rest wait for the next start)."""
    from ..discovery import find_bridge, stop_bridge

    home = _settings().home
    found = find_bridge(home)
    if found.pid is None:
        click.echo("the bridge is not running" + (f" ({found.note})" if found.note else ""))
        return
    if not stop_bridge(home, found, timeout):
        raise CliError(f"the bridge (pid {found.pid}) did not stop in {timeout:.0f} s")
    click.echo("the bridge stopped")


@main.group()
def config() -> None:
    """The API key and settings."""


@config.command("set-key")
@click.option("--stdin", "from_stdin", is_flag=True, help="read the key from standard input")
def set_key(from_stdin) -> None:
    """Store the API key in the OS keyring (or a private file where there is none)."""
    from ..core.keystore import store_key
    from ..discovery import BridgeError, running_bridge

    settings = _settings()
    if from_stdin or not sys.stdin.isatty():
        key = sys.stdin.readline().strip()
    else:
        key = click.prompt("AI HomeDesign API key", hide_input=True).strip()
    if not key or any(c.isspace() for c in key):
        raise CliError("that is not an API key (empty, or with spaces)")
    where, warning = store_key(settings.home, key)
    if warning:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    click.echo(f"API key stored ({'OS keyring' if where == 'keyring' else where})")
    import os

    if os.environ.get("AIHD_API_KEY"):
        click.secho(
            "note: AIHD_API_KEY is set in this shell and still wins over the stored key",
            fg="yellow",
            err=True,
        )
    bridge = running_bridge(settings.home)
    if bridge is not None:
        try:
            mode = bridge.post("/v1/config/reload")["mode"]
            click.echo(f"the running bridge now uses it ({mode} mode)")
        except BridgeError as exc:
            click.echo(f"the running bridge did not take it up ({exc}); restart it", err=True)


@config.command("delete-key")
def delete_key() -> None:
    """Forget the stored API key (the bridge goes back to sandbox mode)."""
    from ..core.keystore import forget_key
    from ..discovery import BridgeError, running_bridge

    settings = _settings()
    forget_key(settings.home)
    bridge = running_bridge(settings.home)
    if bridge is not None:
        try:
            bridge.post("/v1/config/reload")
        except BridgeError as exc:
            click.echo(f"the running bridge did not take it up ({exc}); restart it", err=True)
    click.echo("API key removed")


@config.command("show")
@click.option("--json", "as_json", is_flag=True)
def show_config(as_json) -> None:
    """The settings in force, with the key masked."""
    import dataclasses
    import os

    from ..core.keystore import find_key, mask

    settings = _settings()
    key = find_key(settings.home, os.environ)
    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    values["home"] = str(settings.home)
    values["watches"] = [str(w.dir) for w in settings.watches]
    values["api_key"] = mask(key.key)
    values["api_key_source"] = key.source
    values["mode"] = "sandbox" if settings.sandbox else "live"
    if as_json:
        click.echo(json.dumps(values, indent=2))
    else:
        for name, value in values.items():
            click.echo(f"{name:<18}{value}")


@main.command()
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option("--service", "-s", callback=_service_option, help="its photos' service, e.g. day-to-dusk")
@click.option("--preset", "-p", help="a preset instead (default: auto, chosen from each photo)")
@click.option("--submit", is_flag=True, help="submit each order once uploaded (order lifecycle)")
@click.option(
    "--results", type=click.Path(path_type=Path, file_okay=False), help="where results go once fetched"
)
@click.option("--move-done", is_flag=True, help="move each photo into done/ once it has its order id")
@click.option("--poll", is_flag=True, help="look every second (network shares) instead of file events")
@click.option("--list", "list_only", is_flag=True, help="list the watched folders")
@click.option("--remove", is_flag=True, help="stop watching FOLDER")
@click.option("--json", "as_json", is_flag=True)
def watch(folder, service, preset, submit, results, move_done, poll, list_only, remove, as_json) -> None:
    """Watch FOLDER: each photo saved or copied into it is sent once, and gets its order id in
    <photo>.aihd.json beside it. Subfolders named after a service or preset choose it
    (FOLDER/day-to-dusk/...). Kept in config.toml: watched again at every start."""
    from .watching import add_watch, list_watches, remove_watch

    settings = _settings()
    if service and preset:
        raise click.UsageError("give --service or --preset, not both")
    if folder is None or list_only:
        if folder is not None or remove:
            raise click.UsageError("--list takes no FOLDER")
        list_watches(settings, as_json)
    elif remove:
        remove_watch(settings, folder, as_json)
    else:
        add_watch(
            settings,
            {
                "dir": folder,
                "service": service,
                "preset": preset,
                "submit": submit,
                "results": results,
                "move_done": move_done,
                "poll": poll,
            },
            as_json,
        )


@main.command()
@click.argument("action", type=click.Choice(["enable", "disable", "status"]))
def autostart(action) -> ExitStatus | None:
    """Start the bridge at login (systemd user unit, LaunchAgent, or Windows' Run key: a
    Startup app)."""
    from ..setup.autostart import manager

    settings = _settings()
    service = manager(settings.home)
    if action == "enable":
        click.echo(service.enable())
    elif action == "disable":
        click.echo(service.disable())
    else:
        status = service.status()
        running = {True: "running", False: "not running", None: "state unknown"}[status.running]
        click.echo(f"{'enabled' if status.enabled else 'disabled'}, {running}: {status.detail}")
        # `status` answers with its exit code too, for scripts: 0 when enabled.
        return ExitStatus.SUCCESS if status.enabled else ExitStatus.ERROR
    return None


@main.command()
@click.option("--uninstall", is_flag=True, help="undo it: no start at login, bridge stopped, plugins gone")
@click.option("--purge", is_flag=True, help="with --uninstall: the history, settings and API key go too")
@click.option("--no-autostart", is_flag=True, help="do not start the bridge at login")
@click.option("--no-plugin", is_flag=True, help="leave Lightroom and darktable alone")
@click.pass_context
def setup(ctx, uninstall, purge, no_autostart, no_plugin) -> ExitStatus | None:
    """Set this computer up: the Lightroom plugin (and darktable's script where darktable is),
    the bridge started at login and now, and a first photo to the sandbox. Safe to run again."""
    from .setting_up import set_up_here, tear_down_here

    if purge and not uninstall:
        raise click.UsageError("--purge goes with --uninstall")
    home = _settings().home
    if uninstall:
        tear_down_here(home, purge)
        return None
    photo = set_up_here(home, plugin=not no_plugin, login=not no_autostart)
    if photo is None:
        return None
    return ctx.invoke(upload, paths=(photo,), bridge_only=True, client="setup")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--online", is_flag=True, help="also ask the API whether it accepts the key")
def doctor(as_json, online) -> ExitStatus:
    """Check the installation: one line per check, with the fix for each problem."""
    from .doctor import run_checks

    checks = run_checks(_settings(), online=online)
    if as_json:
        click.echo(json.dumps([c.as_dict() for c in checks], indent=2))
    else:
        marks = {
            "ok": click.style("ok  ", fg="green"),
            "warn": click.style("warn", fg="yellow"),
            "fail": click.style("FAIL", fg="red"),
        }
        for c in checks:
            click.echo(
                f"{marks[c.status]}  {c.name:<17}{c.detail}"
                + (f"  ->  {c.fix}" if c.fix and c.status != "ok" else "")
            )
    # 1 when a check failed, for scripts and CI; a warning alone still ends with 0.
    return ExitStatus.ERROR if any(c.status == "fail" for c in checks) else ExitStatus.SUCCESS


@main.group()
def plugin() -> None:
    """The host plugins: Lightroom Classic's plugin, darktable's script."""


@plugin.command("install")
@click.option(
    "--from",
    "source",
    type=click.Path(path_type=Path, file_okay=False),
    help="a host-plugin folder to install from (default: the plugins this installation carries)",
)
@click.option(
    "--host",
    type=click.Choice(["lightroom", "darktable"]),
    default="lightroom",
    show_default=True,
    help="which photo manager to install into",
)
@click.option("--if-found", is_flag=True, help="do nothing when the host is not on this machine (darktable)")
def plugin_install(source, host, if_found) -> None:
    """Copy the plugin and export presets into Lightroom's folders, or the script into
    darktable's lua/contrib (and require it from luarc)."""
    from ..setup.plugins import bundled_plugins, install, install_darktable

    try:
        source = source or bundled_plugins()
        lines = (
            install_darktable(source, only_if_found=if_found)
            if host == "darktable"
            else install(source, _settings().home)
        )
    except OSError as exc:  # FileNotFoundError among them: no such plugin folder
        raise CliError(str(exc)) from None
    for line in lines:
        click.echo(line)


@plugin.command("uninstall")
def plugin_uninstall() -> None:
    """Remove the plugins, presets and scripts this tool installed, from every host."""
    from ..setup.plugins import uninstall

    for place in uninstall(_settings().home) or ["nothing to remove"]:
        click.echo(f"removed {place}" if place != "nothing to remove" else place)


@main.command()
@click.option("--port", type=int, default=47312, show_default=True)
@click.option("--max-bytes", type=int, default=50_000_000, show_default=True)
@click.option(
    "--api",
    "api",
    type=click.Choice(["v3", "v1"]),
    default="v3",
    show_default=True,
    help="the API version to speak",
)
def sandbox(port, max_bytes, api) -> None:
    """Run the embedded stand-in of the AI HomeDesign API on 127.0.0.1, printing what it gets."""
    from ..sandbox import SandboxState, create_sandbox_app
    from ..web.background import BackgroundServer

    state = SandboxState(max_bytes=max_bytes, api=api)
    with BackgroundServer(create_sandbox_app(state), port=port) as server:
        click.echo(f"sandbox API ({api}) at {server.url}  (AIHD_API_URL={server.url} to use it)", err=True)
        click.echo(
            f"its /_sandbox/received and /_sandbox/faults need the header "
            f"'Authorization: Bearer {state.control_token}'",
            err=True,
        )
        seen = 0
        try:
            while True:
                time.sleep(0.5)
                for r in state.received[seen:]:
                    click.echo(json.dumps(r))
                seen = len(state.received)
        except KeyboardInterrupt:
            pass
