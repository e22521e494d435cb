"""Generate sdk_api.lua, the list of what the Lightroom Classic SDK offers, for the strict fake.

Source: the typed stubs that Mossop/lightroom-lua generates from Adobe's API reference
(https://github.com/Mossop/lightroom-lua, folder library/). Run it on a checkout:

    python3 host-plugin/tests/make_sdk_api.py <lightroom-lua checkout> <commit> > host-plugin/tests/sdk_api.lua

It lists each namespace's functions (what `import 'LrX'` returns), each class's methods and
fields, which namespaces are constructors, the LrView controls with their own properties, and
the keys of named-argument tables that the reference spells out. The property groups that many
controls share ("View properties", "Text properties", ...) are separate pages of the API
reference that the stubs do not carry: they are written below from those pages.
"""

import re
import sys
from pathlib import Path

# The API reference's "LrView ... properties" pages (SDK 1.3 onwards).
GROUPS = {
    "View properties": ["bind_to_object", "tooltip", "visible"],
    "Control properties": ["enabled", "font", "size"],
    "Text properties": ["height_in_lines", "width_in_chars", "width_in_digits"],
    "Editable text properties": ["alignment", "auto_completion", "completion", "immediate", "increment",
                                 "large_increment", "max", "min", "precision", "validate", "value"],
    "Child layout properties": ["margin", "margin_bottom", "margin_horizontal", "margin_left",
                                "margin_right", "margin_top", "margin_vertical", "place", "spacing"],
}
# "Node layout properties ... can be specified in all container and control nodes."
NODE_LAYOUT = ["fill", "fill_horizontal", "fill_vertical", "height", "place_horizontal",
               "place_vertical", "width"]
# What `import 'X'` answers when the stub names the namespace differently from the class.
NAMESPACE_CLASS = {"LrFunctionContext": "LrFunctionContextNamespace"}
# Functions whose one table argument has documented keys the fake checks.
NAMED_ARGS = ["LrDialogs.presentModalDialog", "LrExportContext:configureProgress",
              "LrExportContext:renditions", "LrProgressScopeConstructor"]

# Typos of the reference that the real SDK does not share.
ERRATA = {"progessScope": "progressScope"}

FUNC = re.compile(r"^function (\w+)([.:])(\w+)\(")
CTOR = re.compile(r"^local function (\w+)Constructor\(")
CLASS = re.compile(r"^---@class (\w+)")
FIELD = re.compile(r"^---@field (\w+)")
PARAM = re.compile(r"^---@param (\w+) (.*)")
ARG_NAME = re.compile(r"(?:^|[\s.:])(\w+)(?::\s*\(| \([A-Za-z][^)]*\):)")


def parse(library: Path) -> dict:
    api = {"namespaces": {}, "classes": {}, "constructors": [], "controls": {}, "factory": [],
           "named_args": {}}
    for path in sorted(library.glob("Lr*.lua")):
        module = path.stem
        current, params = None, {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if m := CLASS.match(line):
                current = m.group(1)
                api["classes"].setdefault(current, {"methods": [], "fields": []})
            elif (m := FIELD.match(line)) and current:
                api["classes"][current]["fields"].append(m.group(1))
            elif m := PARAM.match(line):
                params[m.group(1)] = m.group(2)
            elif m := FUNC.match(line):
                owner, sep, name = m.groups()
                full = f"{owner}{sep}{name}"
                if owner == "viewFactory":
                    args = params.get("args")
                    if args is None:
                        api["factory"].append(name)
                    else:
                        api["controls"][name] = control(args)
                elif sep == ".":
                    api["namespaces"].setdefault(owner, []).append(name)
                else:
                    api["classes"].setdefault(owner, {"methods": [], "fields": []})["methods"].append(name)
                if full in NAMED_ARGS:
                    api["named_args"][full] = named_args(next(iter(params.values())))
                params = {}
            elif m := CTOR.match(line):
                api["constructors"].append(module)
                if f"{m.group(1)}Constructor" in NAMED_ARGS:
                    api["named_args"][f"{m.group(1)}Constructor"] = named_args(params["params"])
                params = {}
            elif not line.startswith("---"):
                params = {} if line.strip() == "" and not line.startswith("--") else params
    for module, cls in NAMESPACE_CLASS.items():
        api["namespaces"][module] = api["namespaces"].pop(cls)
    return api


def named_args(text: str) -> list[str]:
    return sorted({ERRATA.get(n, n) for n in ARG_NAME.findall(text)} - {"table"})


def control(args: str) -> list[str]:
    props = set(NODE_LAYOUT)
    for group, names in GROUPS.items():
        if group in args:
            props.update(names)
    own = args.split("in addition to:", 1)[1] if "in addition to:" in args else args
    props.update(re.findall(r"(\w+): \(", own))
    return sorted(props)


def lua_list(names) -> str:
    return "{ " + ", ".join(f"'{n}'" for n in sorted(set(names))) + " }"


def render(api: dict, source: str) -> str:
    out = [f"-- Generated by make_sdk_api.py from {source}: do not edit.",
           "-- What the Lightroom Classic SDK offers, as its API reference lists it.", "return {",
           "  namespaces = {"]
    out += [f"    {m} = {lua_list(f)}," for m, f in sorted(api["namespaces"].items())]
    out += ["  },", "  classes = {"]
    for name, c in sorted(api["classes"].items()):
        if c["methods"] or c["fields"]:
            out.append(f"    {name} = {{ methods = {lua_list(c['methods'])}, fields = {lua_list(c['fields'])} }},")
    out += ["  },", f"  constructors = {lua_list(api['constructors'])},",
            f"  factory = {lua_list(api['factory'])},", "  controls = {"]
    out += [f"    {n} = {lua_list(p)}," for n, p in sorted(api["controls"].items())]
    out += ["  },", "  named_args = {"]
    out += [f"    ['{n}'] = {lua_list(k)}," for n, k in sorted(api["named_args"].items())]
    out += ["  },", "}", ""]
    return "\n".join(out)


if __name__ == "__main__":
    checkout, commit = Path(sys.argv[1]), sys.argv[2]
    sys.stdout.write(render(parse(checkout / "library"), f"Mossop/lightroom-lua@{commit[:12]} (library/)"))
