"""What a client asks to stay in step with the bridge over real HTTP: a batch polled with a
cursor, hand-overs of several photos, and the changes of one client (a Lightroom catalog)."""

from support import wait_until


def _items(paths, prefix="src"):
    return [{"path": str(p), "source_id": f"{prefix}-{n}"} for n, p in enumerate(paths)]


def test_a_poll_with_an_unchanged_cursor_returns_no_items(make_jpeg, sandbox, start_bridge):
    bridge = start_bridge(sandbox.url)
    first = bridge.post(
        "/v1/uploads", json={"items": _items([make_jpeg(), make_jpeg()]), "client": "lightroom:cat-1"}
    ).json()
    batch_id = first["batch_id"]
    # A later hand-over of several photos joins the same batch.
    more = bridge.post(
        "/v1/uploads",
        json={
            "items": _items([make_jpeg() for _ in range(3)], "more"),
            "batch_id": batch_id,
            "client": "lightroom:cat-1",
        },
    )
    assert more.status_code == 202 and more.json()["batch_id"] == batch_id
    assert len(more.json()["items"]) == 3
    batch = bridge.wait(batch_id)
    assert batch["total"] == 5 and batch["counts"]["done"] == 5 and len(batch["items"]) == 5
    unchanged = bridge.get(f"/v1/batches/{batch_id}", params={"since": batch["cursor"]}).json()
    assert unchanged["items"] == [] and unchanged["cursor"] == batch["cursor"]
    # The totals still cover the whole batch: a client keeps its progress bar from them.
    for field in ("finished", "counts", "total", "bytes_total", "bytes_sent"):
        assert unchanged[field] == batch[field], field
    assert unchanged["bytes_sent"] == unchanged["bytes_total"] > 0
    assert unchanged["remote"]["state"] == "ok"
    bad = bridge.get(f"/v1/batches/{batch_id}", params={"since": "-1"})
    assert bad.status_code == 400 and "cursor" in bad.json()["error"]


def test_a_poll_with_a_cursor_returns_what_changed(make_jpeg, sandbox, start_bridge):
    bridge = start_bridge(sandbox.url)
    batch_id = bridge.upload([make_jpeg()])["batch_id"]
    first = bridge.wait(batch_id)
    bridge.post("/v1/uploads", json={"items": _items([make_jpeg()], "late"), "batch_id": batch_id})

    def changed():
        answer = bridge.get(f"/v1/batches/{batch_id}", params={"since": first["cursor"]}).json()
        return answer if answer["finished"] else None

    answer = wait_until(changed, timeout=30, what="the late photo to finish")
    assert [i["source_id"] for i in answer["items"]] == ["late-0"]  # only what changed
    assert answer["items"][0]["order_id"] and answer["total"] == 2


def test_changes_are_scoped_to_their_client(make_jpeg, sandbox, start_bridge):
    bridge = start_bridge(sandbox.url)
    # Two catalogs whose photos have the very same source ids.
    batches = {}
    for catalog in ("lightroom:cat-a", "lightroom:cat-b"):
        answer = bridge.post(
            "/v1/uploads", json={"items": _items([make_jpeg(), make_jpeg()]), "client": catalog}
        ).json()
        batches[catalog] = bridge.wait(answer["batch_id"])
    for catalog, batch in batches.items():
        feed = bridge.get("/v1/changes", params={"client": catalog, "since": 0}).json()
        orders = {i["source_id"]: i["order_id"] for i in feed["items"] if i["state"] == "done"}
        assert orders == {i["source_id"]: i["order_id"] for i in batch["items"]}, catalog
        assert {i["batch_id"] for i in feed["items"]} == {batch["id"]} and not feed["more"]
        again = bridge.get("/v1/changes", params={"client": catalog, "since": feed["cursor"]})
        assert again.json() == {"cursor": feed["cursor"], "more": False, "items": []}
    history = bridge.get("/v1/history", params={"source_id": "src-0", "client": "lightroom:cat-b"})
    assert [i["batch_id"] for i in history.json()["items"]] == [batches["lightroom:cat-b"]["id"]]
    assert bridge.get("/v1/changes").status_code == 400  # a client must say who it is
    stranger = bridge.post(
        "/v1/uploads",
        json={
            "items": _items([make_jpeg()]),
            "batch_id": batches["lightroom:cat-a"]["id"],
            "client": "lightroom:cat-b",
        },
    )
    assert stranger.status_code == 400 and "another client" in stranger.json()["error"]
