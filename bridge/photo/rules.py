"""From a photo's facts to a `service_name`, with the reason in words a photographer reads.

Presets and rules come from the shipped `presets.toml`, overridden by the user's copy in
the data dir. A broken user file is reported (with its line) and the shipped rules go on.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from ..core.config import line_of
from .formats import ImageFormat
from .metadata.model import MetadataError, PhotoMeta
from .services import FALLBACK_SERVICE, FALLBACK_SPACE, UnknownService, canonical_service, services

log = logging.getLogger(__name__)
USER_FILE = "presets.toml"
AUTO = "auto"


class RulesError(ValueError):
    """A rules file that cannot be used, or a request for a preset that does not exist."""


@dataclass(frozen=True)
class OrderDefaults:
    """What a preset (or a matching rule, for the space) says about the order after upload."""

    submit: bool | None = None  # None: not said (then no submit: a submit is a charge)
    space: str | None = None  # a space's title or name, looked up in the API's catalog
    widgets: dict[str, str] = field(default_factory=dict)  # widget title -> item title
    results_dir: str | None = None


@dataclass(frozen=True)
class Choice:
    service_name: str
    reason: str
    rule: str | None = None
    order: OrderDefaults = field(default_factory=OrderDefaults)


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    service: str  # a service name, or "auto"
    order: OrderDefaults = field(default_factory=OrderDefaults)


@dataclass(frozen=True)
class Rule:
    name: str
    service: str
    keywords: tuple[str, ...] = ()
    label: tuple[str, ...] = ()
    rating_min: int | None = None
    rating_max: int | None = None
    formats: tuple[str, ...] = ()
    hours: tuple[int, int] | None = None
    make: tuple[str, ...] = ()
    has_gps: bool | None = None
    space: str | None = None  # the space to order in when this rule picks the service

    def why(self, meta: PhotoMeta, fmt: ImageFormat) -> str | None:
        """The sentence saying why this rule matches, or None when it does not."""
        reasons = []
        for test in (
            self._keywords,
            self._label,
            self._rating,
            self._format,
            self._make,
            self._hours,
            self._gps,
        ):
            reason = test(meta, fmt)
            if reason is False:
                return None
            if reason:
                reasons.append(reason)
        return " and ".join(reasons) + f" matched '{self.name}'" if reasons else None

    def _keywords(self, meta, fmt):
        if not self.keywords:
            return None
        wanted = {k.casefold(): k for k in self.keywords}
        for keyword in meta.keywords:
            for part in [keyword, *re.split(r"[|>/]", keyword)]:
                if part.strip().casefold() in wanted:
                    return f"keyword '{part.strip()}'"
        return False

    def _label(self, meta, fmt):
        if not self.label:
            return None
        hit = meta.label and meta.label.casefold() in {l.casefold() for l in self.label}
        return f"colour label '{meta.label}'" if hit else False

    def _rating(self, meta, fmt):
        if self.rating_min is None and self.rating_max is None:
            return None
        if meta.rating is None:
            return False
        low = self.rating_min if self.rating_min is not None else -1
        high = self.rating_max if self.rating_max is not None else 5
        return f"rating {meta.rating}" if low <= meta.rating <= high else False

    def _format(self, meta, fmt):
        if not self.formats:
            return None
        return f"format {fmt.name}" if fmt.name in {f.upper() for f in self.formats} else False

    def _hours(self, meta, fmt):
        if self.hours is None:
            return None
        hour, (start, end) = meta.hour, self.hours
        if hour is None:
            return False
        inside = start <= hour < end if start <= end else (hour >= start or hour < end)
        return f"taken at {meta.date_time_original[11:16]}" if inside else False

    def _make(self, meta, fmt):
        if not self.make:
            return None
        hit = meta.make and any(m.casefold() in meta.make.casefold() for m in self.make)
        return f"camera '{meta.make}'" if hit else False

    def _gps(self, meta, fmt):
        if self.has_gps is None:
            return None
        has = meta.gps_latitude is not None
        return ("a GPS position" if has else "no GPS position") if has == self.has_gps else False


_RULE_KEYS = {
    "name",
    "service",
    "keywords",
    "label",
    "rating_min",
    "rating_max",
    "formats",
    "hours",
    "make",
    "has_gps",
    "space",
}


def _read_metadata(path: Path) -> PhotoMeta:
    from .metadata.reader import read_metadata  # exifread loads when a photo needs reading

    return read_metadata(path)


@dataclass
class Rules:
    presets: dict[str, Preset]
    rules: list[Rule]
    problem: str | None = None  # why the user's file was not used, if it was not
    reader: Callable[[Path], PhotoMeta] = field(default=_read_metadata, repr=False)

    @classmethod
    def load(cls, home: Path | None = None) -> Rules:
        shipped_text = resources.files("bridge.photo").joinpath("presets.toml").read_text("utf-8")
        presets, rules = _parse(shipped_text, "presets.toml (shipped)")
        user = home / USER_FILE if home else None
        if user is None or not user.is_file():
            return cls(presets, rules)
        try:
            user_presets, user_rules = _parse(user.read_text("utf-8"), str(user), rules_required=False)
        except (RulesError, OSError, UnicodeDecodeError) as exc:
            log.warning("not using %s: %s", user, exc)
            return cls(presets, rules, problem=f"{exc}; the shipped presets and rules are used")
        return cls(presets | user_presets, user_rules if user_rules is not None else rules)

    def choose(
        self, path: Path, fmt: ImageFormat, *, service: str | None = None, preset: str | None = None
    ) -> Choice:
        if service:
            try:
                return Choice(canonical_service(service), "the service was chosen by name")
            except UnknownService as exc:
                raise RulesError(str(exc)) from None
        chosen = self.presets.get(preset or AUTO)
        if chosen is None:
            raise RulesError(f"unknown preset {preset!r} (one of: {', '.join(self.presets)})")
        if chosen.service != AUTO:
            return Choice(chosen.service, f"the preset '{chosen.title}' always orders it", order=chosen.order)
        picked = self.auto(path, fmt)
        return replace(picked, order=replace(chosen.order, space=picked.order.space or chosen.order.space))

    def auto(self, path: Path, fmt: ImageFormat) -> Choice:
        try:
            meta = self.reader(path)
        except MetadataError as exc:
            return Choice(
                FALLBACK_SERVICE,
                f"its metadata could not be read ({exc}), so it gets {services()[FALLBACK_SERVICE].lower()}",
            )
        return self.decide(meta, fmt)

    def decide(self, meta: PhotoMeta, fmt: ImageFormat) -> Choice:
        for rule in self.rules:
            reason = rule.why(meta, fmt)
            if reason:
                return Choice(
                    rule.service, reason, rule.name, OrderDefaults(space=self._space(rule, meta, fmt))
                )
        # Image enhancement needs to know indoors from outdoors: what no exterior rule matched is indoors.
        return Choice(
            FALLBACK_SERVICE,
            f"no rule matched, so it gets {services()[FALLBACK_SERVICE].lower()}",
            order=OrderDefaults(space=FALLBACK_SPACE),
        )

    def _space(self, picked: Rule, meta: PhotoMeta, fmt: ImageFormat) -> str | None:
        """The space of the rule that picked the service, else of the first other rule for the
        same service that matches and names one (keyword 'bedroom' -> Bedroom)."""
        if picked.space:
            return picked.space
        for rule in self.rules:
            if rule.space and rule.service == picked.service and rule.why(meta, fmt):
                return rule.space
        return None


def _parse(text: str, where: str, rules_required: bool = True):
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message carries line and column
        raise RulesError(f"{where}: {exc}") from None
    unknown = set(data) - {"presets", "rules"}
    if unknown:
        raise RulesError(
            f"{where}: unknown section {sorted(unknown)[0]!r} (only [presets.NAME] and [[rules]])"
        )
    presets = {}
    for name, body in (data.get("presets") or {}).items():
        header = r"\[presets\." + re.escape(name) + r"\]"
        at = f"{where} line {line_of(text, header)}"
        if not isinstance(body, dict) or not isinstance(body.get("service"), str):
            raise RulesError(f"{at}: preset '{name}' needs a service")
        service = body["service"] if body["service"] == AUTO else _service(body["service"], at)
        presets[name] = Preset(name, str(body.get("title", name)), service, _order_defaults(body, at, name))
    if "rules" not in data:
        return presets, ([] if rules_required else None)
    if not isinstance(data["rules"], list):
        raise RulesError(f"{where}: 'rules' must be written as [[rules]] tables")
    header = r"\[\[rules\]\]"
    rules = [_rule(body, f"{where} line {line_of(text, header, n)}") for n, body in enumerate(data["rules"])]
    return presets, rules


_PRESET_KEYS = {"title", "service", "submit", "space", "widgets", "results_dir"}


def _order_defaults(body: dict, at: str, name: str) -> OrderDefaults:
    unknown = set(body) - _PRESET_KEYS
    if unknown:
        raise RulesError(f"{at}: preset '{name}' has an unknown key {sorted(unknown)[0]!r}")
    submit, space, results = body.get("submit"), body.get("space"), body.get("results_dir")
    widgets = body.get("widgets", {})
    if submit is not None and not isinstance(submit, bool):
        raise RulesError(f"{at}: submit must be true or false")
    if space is not None and not isinstance(space, str):
        raise RulesError(f'{at}: space must be text (a space\'s title, e.g. "Bedroom")')
    if not (isinstance(widgets, dict) and all(isinstance(v, str) for v in widgets.values())):
        raise RulesError(f'{at}: widgets must be a table of text, e.g. widgets = {{ Style = "Modern" }}')
    if results is not None and not (isinstance(results, str) and Path(results).expanduser().is_absolute()):
        raise RulesError(f"{at}: results_dir must be an absolute folder")
    return OrderDefaults(submit, space, dict(widgets), results)


def _rule(body: dict, at: str) -> Rule:
    if not isinstance(body.get("name"), str) or "service" not in body:
        raise RulesError(f"{at}: a rule needs a name and a service")
    at = f"{at} (rule '{body['name']}')"
    unknown = set(body) - _RULE_KEYS
    if unknown:
        raise RulesError(
            f"{at}: unknown condition {sorted(unknown)[0]!r} "
            f"(known: {', '.join(sorted(_RULE_KEYS - {'name', 'service'}))})"
        )
    kw = {"name": body["name"], "service": _service(body["service"], at)}
    for key in ("keywords", "label", "formats", "make"):
        if key in body:
            value = body[key]
            if isinstance(value, str):
                value = [value]
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise RulesError(f"{at}: {key} must be a list of text")
            kw[key] = tuple(value)
    for key in ("rating_min", "rating_max"):
        if key in body:
            if not (isinstance(body[key], int) and 0 <= body[key] <= 5):
                raise RulesError(f"{at}: {key} must be a whole number from 0 to 5")
            kw[key] = body[key]
    if "hours" in body:
        hours = body["hours"]
        if not (
            isinstance(hours, list)
            and len(hours) == 2
            and all(isinstance(h, int) and 0 <= h <= 24 for h in hours)
        ):
            raise RulesError(f"{at}: hours must be [from, to] with hours from 0 to 24")
        kw["hours"] = tuple(hours)
    if "has_gps" in body:
        if not isinstance(body["has_gps"], bool):
            raise RulesError(f"{at}: has_gps must be true or false")
        kw["has_gps"] = body["has_gps"]
    space = body.get("space")
    if space is not None and not isinstance(space, str):
        raise RulesError(f'{at}: space must be text (a space\'s title, e.g. "Bedroom")')
    if len(kw) == 2:
        raise RulesError(f"{at}: a rule needs at least one condition")
    return Rule(**kw, space=space)


def _service(name, at: str) -> str:
    try:
        return canonical_service(str(name))
    except UnknownService as exc:
        raise RulesError(f"{at}: {exc}") from None
