"""`aihd-bridge inspect` and `upload --preset auto` on real files."""

import json

from support import bridge_env, run_cli

XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    '22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
    "<dc:subject><rdf:Bag><rdf:li>{}</rdf:li></rdf:Bag></dc:subject></rdf:Description>"
    "</rdf:RDF></x:xmpmeta>"
)


def test_inspect_answers_for_every_sample(samples, expected, tmp_path):
    paths = [samples / name for name in sorted(expected)]
    proc = run_cli("inspect", "--json", *paths, env=bridge_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    reports = json.loads(proc.stdout)
    assert len(reports) == 23
    for report in reports:
        assert report["service_name"].startswith("service-") and report["reason"]
    gps = next(r for r in reports if r["path"].endswith("GPS.jpg"))
    assert abs(gps["metadata"]["gps_latitude"] - 54.98967) < 1e-4
    human = run_cli("inspect", samples / "CanonRaw.cr3", env=bridge_env(tmp_path))
    assert "EF-M15-45mm" in human.stdout and "service     service-image-enhancement" in human.stdout


def _tagged_jpeg(tmp_path, keyword: str):
    from PIL import Image

    path = tmp_path / f"{keyword}.jpg"
    Image.new("RGB", (32, 32)).save(path, "JPEG", xmp=XMP.format(keyword).encode())
    return path


def test_auto_preset_uses_the_rules(sandbox, tmp_path):
    vacant, dusk = _tagged_jpeg(tmp_path, "vacant"), _tagged_jpeg(tmp_path, "twilight")
    proc = run_cli("inspect", vacant, env=bridge_env(tmp_path))
    assert "keyword 'vacant' matched 'empty rooms → virtual staging'" in proc.stdout
    proc = run_cli("upload", "--json", vacant, dusk, env=bridge_env(tmp_path, sandbox.url))
    results = json.loads(proc.stdout)["results"]
    assert [r["service_name"] for r in results] == ["service-ai-virtual-staging", "service-day-to-dusk"]
    # The bridge run by `upload` sends them side by side: in either order.
    assert sorted(o["service_name"] for o in sandbox.state.orders()) == [
        "service-ai-virtual-staging",
        "service-day-to-dusk",
    ]


def test_inspect_bad_file(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    proc = run_cli("inspect", bad, env=bridge_env(tmp_path))
    assert proc.returncode == 1 and "not a photo format" in proc.stdout and "Traceback" not in proc.stderr
