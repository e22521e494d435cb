"""The shipped rules, table-driven, a user's override file, and broken rule files."""

from pathlib import Path

import pytest

from bridge.photo.formats import FORMATS
from bridge.photo.metadata import MetadataError, PhotoMeta
from bridge.photo.rules import Rules, RulesError

JPEG, DNG = FORMATS["JPEG"], FORMATS["DNG"]


@pytest.fixture
def shipped():
    return Rules.load(None)


@pytest.mark.parametrize(
    "meta,service,rule,words",
    [
        (
            PhotoMeta(keywords=("Vacant",)),
            "service-ai-virtual-staging",
            "empty rooms → virtual staging",
            "keyword 'Vacant' matched 'empty rooms → virtual staging'",
        ),
        (
            PhotoMeta(keywords=("Listing|Rooms|empty",)),
            "service-ai-virtual-staging",
            "empty rooms → virtual staging",
            "keyword 'empty'",
        ),
        (
            PhotoMeta(keywords=("declutter",)),
            "service-item-removal",
            "cluttered rooms → item removal",
            "keyword 'declutter'",
        ),
        (
            PhotoMeta(keywords=("twilight",)),
            "service-day-to-dusk",
            "exteriors for twilight → day to dusk",
            "keyword 'twilight'",
        ),
        (
            PhotoMeta(keywords=("renovation",)),
            "service-creative-designer",
            "ideas for a new look → creative designer",
            "keyword",
        ),
        (
            PhotoMeta(label="Purple"),
            "service-creative-designer",
            "purple label → creative designer",
            "colour label 'Purple'",
        ),
        (PhotoMeta(label="red"), "service-item-removal", "red label → item removal", "colour label 'red'"),
        (
            PhotoMeta(label="Blue"),
            "service-ai-virtual-staging",
            "blue label → virtual staging",
            "colour label",
        ),
        (
            PhotoMeta(make="DJI", date_time_original="2024:05:01 11:02:00"),
            "service-day-to-dusk",
            "drone daytime shots → day to dusk",
            "camera 'DJI' and taken at 11:02 matched",
        ),
        (
            PhotoMeta(make="DJI", date_time_original="2024:05:01 20:02:00"),
            "service-image-enhancement",
            "other drone shots → image enhancement outdoors",
            "camera 'DJI' matched",
        ),
        (PhotoMeta(), "service-image-enhancement", None, "no rule matched, so it gets image enhancement"),
    ],
)
def test_shipped_rules(shipped, meta, service, rule, words):
    choice = shipped.decide(meta, JPEG)
    assert (choice.service_name, choice.rule) == (service, rule)
    assert words in choice.reason


@pytest.mark.parametrize(
    "meta,space",
    [
        (PhotoMeta(keywords=("garden",)), "Outdoor"),
        (PhotoMeta(make="DJI", date_time_original="2024:05:01 20:02:00"), "Outdoor"),
        (PhotoMeta(keywords=("kitchen",)), "Indoor"),
        (PhotoMeta(), "Indoor"),
    ],
)
def test_image_enhancement_knows_indoors_from_outdoors(shipped, meta, space):
    choice = shipped.decide(meta, JPEG)
    assert choice.service_name == "service-image-enhancement" and choice.order.space == space


def test_first_matching_rule_wins(shipped):
    choice = shipped.decide(PhotoMeta(keywords=("dusk", "vacant"), label="Red"), JPEG)
    assert choice.service_name == "service-ai-virtual-staging"


def test_presets_and_named_services(shipped):
    path = Path("/nonexistent.jpg")
    assert shipped.choose(path, JPEG, preset="day-to-dusk").service_name == "service-day-to-dusk"
    assert "preset 'Day to dusk'" in shipped.choose(path, JPEG, preset="day-to-dusk").reason
    assert shipped.choose(path, JPEG, service="item-removal").service_name == "service-item-removal"
    with pytest.raises(RulesError, match="unknown preset 'nope'"):
        shipped.choose(path, JPEG, preset="nope")
    with pytest.raises(RulesError, match="unknown service"):
        shipped.choose(path, JPEG, service="paint")


def test_unreadable_metadata_falls_back(shipped):
    def broken(_path):
        raise MetadataError("its metadata is damaged (struct.error)")

    rules = Rules(shipped.presets, shipped.rules, reader=broken)
    choice = rules.choose(Path("/x.jpg"), JPEG)
    assert choice.service_name == "service-image-enhancement" and "could not be read" in choice.reason


USER_FILE = """
[presets.twilight-only]
title = "Twilight"
service = "day-to-dusk"

[[rules]]
name = "five stars → creative designer"
service = "service-creative-designer"
rating_min = 5

[[rules]]
name = "raw files at night → image enhancement"
service = "image-enhancement"
formats = ["DNG", "NEF"]
hours = [20, 6]

[[rules]]
name = "no GPS → virtual staging"
service = "virtual-staging"
has_gps = false
"""


def test_user_file_adds_presets_and_replaces_rules(tmp_path):
    (tmp_path / "presets.toml").write_text(USER_FILE)
    rules = Rules.load(tmp_path)
    assert rules.problem is None
    assert "twilight-only" in rules.presets and "auto" in rules.presets
    assert [r.name for r in rules.rules][0] == "five stars → creative designer"
    assert rules.decide(PhotoMeta(rating=5, keywords=("vacant",)), JPEG).rule.startswith("five stars")
    night = PhotoMeta(date_time_original="2024:01:01 23:30:00", gps_latitude=1.0, gps_longitude=2.0)
    assert (
        rules.decide(night, DNG).reason
        == "format DNG and taken at 23:30 matched 'raw files at night → image enhancement'"
    )
    assert rules.decide(night, JPEG).rule is None
    assert rules.decide(PhotoMeta(), JPEG).service_name == "service-ai-virtual-staging"


@pytest.mark.parametrize(
    "text,words",
    [
        ("[[rules]]\nname = 'x'\nservice = \n", "line 3"),
        (
            "[[rules]]\nname = 'a'\nservice = 'day-to-dusk'\nkeywords = ['a']\n\n[[rules]]\nname = 'b'\n"
            "service = 'day-to-dusk'\ncolour = 'red'\n",
            "line 6 (rule 'b'): unknown condition 'colour'",
        ),
        (
            "[[rules]]\nname = 'a'\nservice = 'paint'\nlabel = 'Red'\n",
            "line 1 (rule 'a'): unknown service 'paint'",
        ),
        ("[[rules]]\nname = 'a'\nservice = 'day-to-dusk'\n", "needs at least one condition"),
        ("[[rules]]\nname = 'a'\nservice = 'day-to-dusk'\nhours = [7]\n", "hours must be"),
        ("[presets.x]\ntitle = 'X'\n", "line 1: preset 'x' needs a service"),
        ("[colours]\n", "unknown section 'colours'"),
    ],
)
def test_broken_user_file_is_named_and_shipped_rules_go_on(tmp_path, text, words):
    (tmp_path / "presets.toml").write_text(text)
    rules = Rules.load(tmp_path)
    assert words in rules.problem and str(tmp_path / "presets.toml") in rules.problem
    assert rules.decide(PhotoMeta(keywords=("vacant",)), JPEG).service_name == "service-ai-virtual-staging"
