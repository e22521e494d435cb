"""The order lifecycle on the command line: following a batch's orders after `upload --submit`,
`aihd-bridge orders` and `aihd-bridge catalog`."""

from __future__ import annotations

import time

import click

from ..core.config import Settings
from ..discovery import LocalBridge
from ..photo.services import services
from .exit_status import CliError

POLL = 0.5


def widget_pairs(values: tuple[str, ...]) -> dict[str, str]:
    """`--widget Style=Modern` (repeatable) as {"Style": "Modern"}."""
    pairs = {}
    for value in values:
        name, sep, item = value.partition("=")
        if not sep or not name.strip() or not item.strip():
            raise click.BadParameter(
                f"{value!r}: write it as WIDGET=ITEM, e.g. Style=Modern", param_hint="--widget"
            )
        pairs[name.strip()] = item.strip()
    return pairs


def follow(bridge: LocalBridge, batch_id: str, *, wait: bool, echo: bool) -> list[dict]:
    """Until every order of the batch is submitted (with `wait`: finished or failed), printing
    each result's path as it arrives and each order that failed; the batch's items at the end."""
    shown: set[str] = set()
    try:
        while True:
            batch = bridge.get(f"/v1/batches/{batch_id}")
            for item in batch["items"]:
                for result in item["results"]:
                    if echo and result["path"] not in shown:
                        click.echo(f"RESULT {result['path']}")
                        shown.add(result["path"])
                if echo and item["order_state"] == "failed" and item["id"] not in shown:
                    click.secho(f"FAIL  order {item['order_id']}: {item['order_error']}", fg="red")
                    shown.add(item["id"])
            pending = batch["orders"].get("submitting", 0) + (
                batch["orders"].get("processing", 0) if wait else 0
            )
            if batch["finished"] and not pending:
                return batch["items"]
            time.sleep(POLL)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            f"stopped watching; the bridge goes on with batch {batch_id} (see `aihd-bridge orders`)"
        ) from None


def order_summary(items: list[dict], wait: bool) -> str:
    submitted = [i for i in items if i["submit"] and i["order_id"]]
    failed = sum(i["order_state"] == "failed" for i in submitted)
    finished = sum(i["order_state"] == "finished" for i in submitted)
    results = sum(len(i["results"]) for i in submitted)
    if wait:
        return f"{finished} orders finished ({results} results), {failed} failed"
    return (
        f"{len(submitted) - failed} orders submitted, {failed} failed; the bridge fetches the results "
        f"(`aihd-bridge orders` shows them)"
    )


def print_orders(items: list[dict]) -> None:
    for item in items:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(item["created"] or 0))
        state = item["order_state"] or item["state"]
        service = services().get(item["service_name"] or "", item["service_name"] or "-")
        click.echo(f"{when}  {item['order_id'] or '-':<26} {state:<14} {service:<18} {item['path'] or ''}")
        if item.get("project") or item.get("process_id"):
            where = [f"property {item['project']}"] if item.get("project") else []
            where += [f"process {item['process_id']}"] if item.get("process_id") else []
            click.echo(f"    {', '.join(where)}")
        chosen = [f"space {item['space']}"] if item["space"] else []
        chosen += [f"{widget} {value}" for widget, value in item["widgets"].items()]
        if chosen and item["submit"]:
            click.echo(f"    {', '.join(chosen)}")
        if item["order_state"] == "processing" and item["eta"]:
            click.echo(f"    results expected at {time.strftime('%H:%M:%S', time.localtime(item['eta']))}")
        for result in item["results"]:
            click.echo(f"    result {result['path']}")
        if item["order_error"]:
            click.echo(f"    {item['order_error']}")
        elif item["state"] == "failed" and item["error"]:
            click.echo(f"    {item['error']}")


def print_catalog(catalog: dict) -> None:
    service = catalog["service"]
    click.secho(f"{services().get(service, service)} ({service})", bold=True)
    if catalog["space_required"]:
        titles = ", ".join(s["title"] for s in catalog["spaces"])
        click.echo(f"  space (one is needed): {titles}")
    by_space = catalog["widgets"]
    shapes = {_shape(w) for w in by_space.values()}
    for space, widgets in by_space.items() if len(shapes) > 1 else list(by_space.items())[:1]:
        if len(shapes) > 1:
            click.echo(f"  widgets in {space}:")
        for widget in widgets:
            need = " (needed)" if not widget["is_optional"] else ""
            click.echo(f"  {widget['title']}{need}: {', '.join(i['title'] for i in widget['items'])}")
        if not widgets:
            click.echo("  no widgets")


def _shape(widgets: list[dict]) -> str:
    return repr([(w["title"], w["is_optional"], [i["title"] for i in w["items"]]) for w in widgets])


def catalog_of(bridge: LocalBridge | None, settings: Settings, service: str) -> dict:
    """A service's catalog through the running bridge (its cache), else read here."""
    if bridge is not None:  # a BridgeError is reported by BridgeGroup
        return bridge.get("/v1/catalog", service=service)
    from ..connect import remote_client
    from ..remote.catalog import Catalog
    from ..remote.client import RemoteError

    with remote_client(settings) as client:
        try:
            return Catalog(lambda: client).service(service).as_dict()
        except RemoteError as exc:
            raise CliError(f"the API's catalog could not be read: {exc}") from None
