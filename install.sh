#!/usr/bin/env bash
# aihd-bridge installer: one command, safe to run again.
#
#   ./install.sh                 install into a virtual environment in the data dir, put
#                                `aihd-bridge` on PATH, install the Lightroom plugin, start the
#                                bridge at login and now, and order a first photo (sandbox
#                                without an API key)
#   ./install.sh --no-autostart  ... but do not start it at login
#   ./install.sh --no-plugin     ... but leave Lightroom and darktable alone
#   ./install.sh --test          install the test tools (lua5.1, lua5.4) into ./.venv and run
#                                the whole test suite
#   ./install.sh --uninstall     stop and remove everything but the history (--purge: all)
set -eu

REPO=$(cd "$(dirname "$0")" && pwd)
MODE=install AUTOSTART=1 PLUGIN=1 PURGE=0
for arg in "$@"; do
  case "$arg" in
    --test) MODE="test" ;;
    --uninstall) MODE=uninstall ;;
    --purge) PURGE=1 ;;
    --no-autostart) AUTOSTART=0 ;;
    --no-plugin) PLUGIN=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

find_python() {
  for py in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$py" ] || continue
    if command -v "$py" >/dev/null 2>&1 &&
       "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  return 1
}

venv_bin() {  # $1: a venv; Windows (Git Bash) venvs keep their programs in Scripts
  if [ -d "$1/Scripts" ]; then echo "$1/Scripts"; else echo "$1/bin"; fi
}

make_venv() {  # $1: where
  if [ ! -x "$(venv_bin "$1")/python" ] && [ ! -x "$(venv_bin "$1")/python.exe" ]; then
    say "creating a virtual environment in $1"
    "$PY" -m venv "$1" || die "could not create a virtual environment (on Debian/Ubuntu: sudo apt-get install python3-venv)"
  fi
  "$(venv_bin "$1")/python" -m pip install --quiet --upgrade pip >/dev/null
}

install_lua() {
  if command -v lua5.1 >/dev/null 2>&1 && lua5.1 -e 'require "socket"; require "cjson"' 2>/dev/null &&
     command -v lua5.4 >/dev/null 2>&1 && command -v luacheck >/dev/null 2>&1; then
    return 0
  fi
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    say "installing lua5.1, lua-socket and lua-cjson for the plugin tests, lua5.4 for darktable's"
    if ! { $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq lua5.1 lua-socket lua-cjson >/dev/null; }; then
      say "could not install Lua: the plugin tests will be skipped"
    fi
    $SUDO apt-get install -y -qq lua5.4 >/dev/null 2>&1 || say "lua5.4 did not install: the darktable tests are skipped"
    $SUDO apt-get install -y -qq lua-check >/dev/null 2>&1 || say "luacheck (lua-check) did not install: that check is skipped"
  elif command -v brew >/dev/null 2>&1; then
    if ! { brew install lua@5.1 luarocks >/dev/null && luarocks --lua-version=5.1 install luasocket >/dev/null &&
           luarocks --lua-version=5.1 install lua-cjson >/dev/null; }; then
      say "could not install Lua: the plugin tests will be skipped"
    fi
    luarocks --lua-version=5.1 install luacheck >/dev/null 2>&1 || say "luacheck did not install: that check is skipped"
    # Homebrew's lua formula is Lua 5.4 (lua5.4 and lua): the darktable tests use it
    brew install lua >/dev/null || say "Lua 5.4 did not install: the darktable tests are skipped"
  else
    say "no apt-get or brew: the plugin tests need lua5.1 with luasocket and lua-cjson, the darktable tests lua5.4; they will be skipped"
  fi
}

install_chromium() {  # the status page's browser tests drive the system Chromium (Playwright)
  if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    return 0
  fi
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    say "installing chromium for the status page's browser tests"
    if ! { $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq chromium >/dev/null; }; then
      say "could not install chromium: the browser tests will be skipped"
    fi
  else
    say "no apt-get: the browser tests need chromium (or AIHD_CHROMIUM=/path/to/it) and are skipped without"
  fi
}

PY=$(find_python) || die "Python 3.11 or newer is needed. Install it (for example 'sudo apt-get install python3' or from python.org) and run this again."

if [ "$MODE" = test ]; then
  VENV="$REPO/.venv"
  make_venv "$VENV"
  say "installing aihd-bridge with its test tools"
  "$(venv_bin "$VENV")/python" -m pip install --quiet -e "${REPO}[test]"
  install_lua
  install_chromium
  say "running the test suite"
  cd "$REPO"
  set +e
  # PYTEST_ARGS: extra pytest options, split on spaces on purpose (e.g. "-x -q").
  # shellcheck disable=SC2086
  "$(venv_bin "$VENV")/python" -m pytest ${PYTEST_ARGS:-}
  rc=$?
  set -e
  [ "$rc" -ne 5 ] || die "no test ran (pytest exit 5)"
  exit "$rc"
fi

# The same data dir the bridge picks (platformdirs), unless AIHD_HOME says otherwise.
HOME_DIR=${AIHD_HOME:-$("$PY" -c 'import sys, os; print(os.path.expanduser("~/Library/Application Support/aihd-bridge") if sys.platform == "darwin" else os.path.join(os.environ.get("LOCALAPPDATA", ""), "aihd-bridge") if sys.platform == "win32" else os.path.join(os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "aihd-bridge"))')}
VENV="$HOME_DIR/venv"
BIN_DIR="$HOME/.local/bin"
AIHD="$(venv_bin "$VENV")/aihd-bridge"

if [ "$MODE" = uninstall ]; then
  if [ -x "$AIHD" ]; then
    "$AIHD" stop || true
    "$AIHD" autostart disable || true
    "$AIHD" plugin uninstall || true
    if [ "$PURGE" = 1 ]; then "$AIHD" config delete-key || true; fi
  fi
  [ -L "$BIN_DIR/aihd-bridge" ] && rm -f "$BIN_DIR/aihd-bridge"
  if [ "$PURGE" = 1 ]; then
    rm -rf "$HOME_DIR"
    say "removed aihd-bridge and all its data ($HOME_DIR)"
  else
    rm -rf "$VENV" "$HOME_DIR/spool" "$HOME_DIR/thumbs" "$HOME_DIR/logs" "$HOME_DIR/first-photo.jpg" "$HOME_DIR/bridge.json"
    say "removed aihd-bridge; the upload history stays in $HOME_DIR (--purge removes it too)"
  fi
  exit 0
fi

mkdir -p "$HOME_DIR"
chmod 700 "$HOME_DIR"
make_venv "$VENV"
VPY="$(venv_bin "$VENV")/python"
AIHD="$(venv_bin "$VENV")/aihd-bridge"
say "installing aihd-bridge into $VENV"
"$VPY" -m pip install --quiet "$REPO"
# The version does not change between checkouts: reinstall the package itself so an update lands.
"$VPY" -m pip install --quiet --no-deps --force-reinstall "$REPO"

mkdir -p "$BIN_DIR"
ln -sf "$AIHD" "$BIN_DIR/aihd-bridge"
say "aihd-bridge is at $BIN_DIR/aihd-bridge"
case ":$PATH:" in
  *":$BIN_DIR:"*) ;;
  *) say "$BIN_DIR is not on your PATH: add  export PATH=\"$BIN_DIR:\$PATH\"  to your shell profile" ;;
esac

if [ "$PLUGIN" = 1 ]; then
  say "installing the Lightroom Classic plugin"
  "$AIHD" plugin install --from "$REPO/host-plugin"
  "$AIHD" plugin install --from "$REPO/host-plugin" --host darktable --if-found
fi

# A bridge from an earlier install runs the old code: stop it so the new one starts.
"$AIHD" stop >/dev/null 2>&1 || true
if [ "$AUTOSTART" = 1 ]; then
  say "starting the bridge at login"
  "$AIHD" autostart enable
fi
if ! "$AIHD" status >/dev/null 2>&1; then
  mkdir -p "$HOME_DIR/logs"
  nohup "$AIHD" serve >>"$HOME_DIR/logs/serve.out" 2>&1 </dev/null &
fi
for _ in $(seq 1 100); do
  "$AIHD" status >/dev/null 2>&1 && break
  sleep 0.2
done
"$AIHD" status || die "the bridge did not start: see $HOME_DIR/logs"

say "first upload (a generated photo)"
PHOTO="$HOME_DIR/first-photo.jpg"
"$VPY" - "$PHOTO" <<'PYEOF'
import sys
from PIL import Image, ImageDraw
im = Image.new("RGB", (640, 427), (182, 200, 214))
draw = ImageDraw.Draw(im)
draw.rectangle((0, 300, 640, 427), fill=(120, 96, 70))    # floor
draw.rectangle((240, 120, 400, 300), fill=(240, 236, 226))  # window
im.save(sys.argv[1], "JPEG", quality=90)
PYEOF
"$AIHD" upload "$PHOTO"
say "done. 'aihd-bridge doctor' checks the installation; './install.sh --uninstall' removes it."
