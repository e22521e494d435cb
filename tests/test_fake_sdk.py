"""The strict fake Lightroom SDK (host-plugin/tests/fake_sdk.lua): each rule raises when broken,
and each rule's test fails on a fake without that rule."""

import json
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from test_plugin import HARNESS, PLUGIN, lua  # noqa: F401 (a fixture)

from support import LuaTests


@pytest.fixture(scope="module")
def echo_url():
    """A server on a free port that answers a POST with the request's headers, as JSON."""

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def rule_tests(lua, harness, echo_url):  # noqa: F811
    return subprocess.run(
        [lua, str(harness / "test_fake_sdk.lua"), str(PLUGIN), echo_url],
        capture_output=True,
        text=True,
        timeout=120,
    )


def rule_list(url: str) -> LuaTests:
    return LuaTests(("lua5.1",), HARNESS / "test_fake_sdk.lua", PLUGIN, url)


@pytest.fixture(scope="module")
def rules(lua, echo_url):  # noqa: F811
    return rule_list(echo_url).run(lua)


# Listed with the URL of no server: the list mode runs no test, so nothing connects to it.
@pytest.mark.parametrize("name", rule_list("http://127.0.0.1:9/").names())
def test_fake_sdk_enforces_each_rule(rules, name):
    rules.check(name)


# Each rule of the fake, taken out: (what the fake says, what it says without the rule).
MUTANTS = {
    "names: unknown namespace": (
        "if not SDK.namespaces[name] and not constructors[name] then",
        "if false then",
    ),
    "names: unknown member": (
        "      violation(class .. ' has no member \"' .. tostring(key) .. '\"', 2)",
        "      return nil",
    ),
    "require root only": ("if type(name) ~= 'string' or name:find('[./\\\\]') then", "if false then"),
    "startAsyncTask inline": (
        "startAsyncTask = function(fn, name) start_task(fn, name) end,",
        "startAsyncTask = function(fn) fn() end,",
    ),
    "wait only in task": (
        "  if not task then violation(what .. ' must be called from within a task (LrTasks.startAsyncTask)', 3) end\n  if (boundary",
        "  if not task then return end\n  if (boundary",
    ),
    "no yield across pcall": (
        "  if (boundary[co] or 0) > 0 or state.tx then\n    violation('Yielding",
        "  if false then\n    violation('Yielding",
    ),
    "catalog calls yield in writes": ("  may_yield(what)\n  return tx\n", "  return tx\n"),
    "stacks in one folder": (
        "  if stack_with and folder_of(stack_with._path) ~= folder_of(path) then",
        "  if false then",
    ),
    "non-ASCII paths": (
        "    if type(path) == 'string' and path:find('[\\128-\\255]') then",
        "    if false then",
    ),
    "undo": (
        "  for _, change in ipairs(undo.props) do change.photo._props[change.field] = change.value end\n",
        "",
    ),
    "private write no undo step": (
        "  if not tx.private then state.undo[#state.undo + 1] = undo end",
        "  state.undo[#state.undo + 1] = undo",
    ),
    "catalog props stay": (
        "  return state.props[field]\nend",
        "  return state.path == state.props._path_set and state.props[field] or nil\nend",
    ),
    "init only when forced": (
        "  if info.LrForceInitPlugin ~= true or not info.LrInitPlugin then return false end",
        "  if not info.LrInitPlugin then return false end",
    ),
    "reload keeps old tasks": (
        "  FakeSdk.install(plugin_dir)\n  if info.LrInitPlugin",
        "  queue = {}\n  if info.LrInitPlugin",
    ),
    "presets shuffled": ("    local j = math.random(i)\n", "    local j = i\n"),
    "getAllPhotos cost": (
        "  if count * FakeSdk.PHOTO_SECONDS > FakeSdk.FREEZE_SECONDS then",
        "  if false then",
    ),
    "LrHttp throws": ("    if FakeSdk.http_throws then error(what .. ': ' .. tostring(code), 3) end\n", ""),
    "writes refused in export": (
        "  if state.busy > 0 or (FakeSdk.refuse_writes_in_export and FakeSdk.exporting) then",
        "  if state.busy > 0 then",
    ),
    "log path per version": (
        "  if FakeSdk.version.major >= 13 then\n    return FakeSdk.home .. '/Library",
        "  if false then\n    return FakeSdk.home .. '/Library",
    ),
    "nested writes": ("  if state.tx then\n    violation(", "  if false then\n    violation("),
    "write in task": ("  wait('LrCatalog:' .. kind)\n", ""),
    "keyword once": ("  if tx.asked and tx.asked[path] then", "  if false then"),
    "failed write rollback": (
        "  if not results[1] then error(results[2], 0) end  -- a failed write changes nothing\n",
        "",
    ),
    "declared fields": (
        "  if not def then violation('no field",
        "  if not def then return end\n  if false then violation('no field",
    ),
    "plug-in argument": (
        "  if plugin ~= _PLUGIN then violation('the plug-in argument must be _PLUGIN', 3) end\n",
        "",
    ),
    "field types": ("    if type(value) ~= 'string' then violation(", "    if false then violation("),
    "512 bytes": ("    if def.searchable and #value >= FakeSdk.SEARCHABLE_LIMIT then", "    if false then"),
    "utf8": ("    if not valid_utf8(value) then violation(", "    if false then violation("),
    "scope ends with loop": (
        "      self._scope._ended_by = 'belongs to the renditions loop, which has ended'\n",
        "",
    ),
    "uploadFailed in loop": ("  if context._loop_ended then violation(", "  if false then violation("),
    "own scopes done": ("    if scope._own and not scope._ended_by then", "    if false then"),
    "sections": ("    if not SECTIONS[section] then violation(", "    if false then violation("),
    "LrDate 2001": (
        "  currentTime = function() return socket.gettime() - EPOCH_2001 end,",
        "  currentTime = function() return socket.gettime() end,",
    ),
    "LrDate guard": (
        "    if type(t) ~= 'number' or t > socket.gettime() - EPOCH_2001 + 20 * 365 * 86400 then",
        "    if false then",
    ),
    "exists directory": ("  if err and err:find('directory') then return 'directory' end\n", ""),
    "LrView props": (
        "      if type(key) ~= 'number' and not allowed[key] then\n        violation('LrView '",
        "      if false then\n        violation('LrView '",
    ),
    "LrView controls": (
        "  __index = function(_, name) violation('LrView has no control \"' .. tostring(name) .. '\"', 2) end,",
        "  __index = function() return function(_, p) return p end end,",
    ),
    "http header list": (
        "  if headers ~= nil and (type(headers) ~= 'table' or (next(headers) ~= nil and headers[1] == nil)) then",
        "  if false then",
    ),
    "content-type default": (
        "    if fields['content-type'] == nil then fields['content-type'] = 'text/plain'",
        "    if false then fields['content-type'] = 'text/plain'",
    ),
    "message scroll": ("    if lines + 1 > FakeSdk.MESSAGE_LINES then", "    if false then"),
    "modal args": ("    check_named_args('LrDialogs.presentModalDialog', args)\n", ""),
    "addPhoto in a write": (
        "  local tx = in_write('addPhoto', true)\n",
        "  local tx = state.tx or { added = {} }\n",
    ),
    "addPhoto stacking position": (
        "  if position ~= nil and position ~= 'above' and position ~= 'below' then",
        "  if false then",
    ),
    "addPhoto missing file": ("  if kind_of(path) ~= 'file' then error(", "  if false then error("),
    "addPhoto image only": (
        "  if not IMPORTABLE[(path:match('%.([^./]+)$') or ''):lower()] then",
        "  if false then",
    ),
    "addPhoto once": (
        "  if taken then error('LrCatalog:addPhoto: the file is already in the catalog: ' .. path, 2) end\n",
        "",
    ),
    "addPhoto stacks": (
        "      table.insert(stack, add.position == 'above' and at or at + 1, add.photo)",
        "      table.insert(stack, add.photo)",
    ),
    "observable properties": (
        "        for _, fn in ipairs({ unpack(observers[key] or {}) }) do fn(t, key, value) end\n",
        "",
    ),
}


@pytest.mark.parametrize("rule", sorted(MUTANTS))
def test_each_rule_test_fails_without_its_rule(lua, echo_url, tmp_path, rule):  # noqa: F811
    old, new = MUTANTS[rule]
    harness = tmp_path / "tests"
    shutil.copytree(HARNESS, harness)
    source = (harness / "fake_sdk.lua").read_text()
    assert source.count(old) == 1, f"fake_sdk.lua changed: update the {rule!r} entry"
    (harness / "fake_sdk.lua").write_text(source.replace(old, new))
    proc = rule_tests(lua, harness, echo_url)
    assert proc.returncode != 0, f"nothing failed without the rule {rule!r}:\n{proc.stdout}"
