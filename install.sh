#!/usr/bin/env bash
# aihd-bridge installer (Linux, macOS; Windows: install.ps1): one command, safe to run again.
# It finds Python 3.11+ (or lets uv bring one), installs aihd-bridge into a virtual environment
# in the data dir, puts `aihd-bridge` on PATH, and runs `aihd-bridge setup`, which does the rest.
#
#   ./install.sh                 install, the Lightroom plugin (and darktable's script where
#                                darktable is), start the bridge at login and now, and send a
#                                first photo to the sandbox (no API key needed)
#   ./install.sh --no-autostart  ... but do not start it at login
#   ./install.sh --no-plugin     ... but leave Lightroom and darktable alone
#   ./install.sh --test          install the test tools (lua5.1, lua5.4, darktable) into ./.venv
#                                and run the whole test suite
#   ./install.sh --uninstall     stop and remove everything but the history (--purge: all)
set -eu

REPO=$(cd "$(dirname "$0")" && pwd)
MODE=install PURGE=0 SETUP_ARGS=()
for arg in "$@"; do
  case "$arg" in
    --test) MODE="test" ;;
    --uninstall) MODE=uninstall ;;
    --purge) PURGE=1 ;;
    --no-autostart|--no-plugin) SETUP_ARGS+=("$arg") ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
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

no_python() {
  if [ "$(uname -s)" = Darwin ]; then
    how="install it from https://www.python.org/downloads/macos/ or with Homebrew: brew install python@3.12"
  else
    how="install it with your package manager (Debian/Ubuntu: sudo apt-get install python3 python3-venv) or from https://www.python.org/downloads/"
  fi
  die "Python 3.11 or newer is needed: $how; or install uv (https://docs.astral.sh/uv/), which brings its own. Then run this again."
}

make_venv() {  # $1: where. With uv on the machine, a Python that uv manages (and keeps up to date).
  if [ -x "$1/bin/python" ]; then
    :
  elif command -v uv >/dev/null 2>&1; then
    say "creating a virtual environment in $1 (uv, with its own Python)"
    uv venv --quiet --python-preference only-managed --python 3.12 "$1" || die "uv could not create a virtual environment in $1"
  else
    PY=$(find_python) || no_python
    say "creating a virtual environment in $1"
    "$PY" -m venv "$1" || die "could not create a virtual environment (on Debian/Ubuntu: sudo apt-get install python3-venv)"
    "$1/bin/python" -m pip install --quiet --upgrade pip >/dev/null
  fi
}

pip_install() {  # $1: the venv's python, then pip's arguments
  local python=$1; shift
  if ! "$python" -m pip --version >/dev/null 2>&1; then  # uv's venvs come without pip
    uv pip install --quiet --python "$python" "$@"
  else
    "$python" -m pip install --quiet "$@"
  fi
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

install_test_programs() {
  # Chromium for the status page's browser tests (Playwright drives it), darktable under Xvfb
  # (xauth for xvfb-run) for the tests against a real darktable.
  local missing=()
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
  command -v darktable >/dev/null 2>&1 || missing+=(darktable)
  command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
  command -v xauth >/dev/null 2>&1 || missing+=(xauth)
  [ "${#missing[@]}" -gt 0 ] || return 0
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    say "installing ${missing[*]} for the browser and darktable tests"
    if ! { $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
      say "could not install ${missing[*]}: the tests that need them fail or are skipped"
    fi
  else
    say "no apt-get: the browser tests need chromium (or AIHD_CHROMIUM=/path/to/it), the darktable tests darktable and Xvfb"
  fi
}

if [ "$MODE" = test ]; then
  VENV="$REPO/.venv"
  make_venv "$VENV"
  say "installing aihd-bridge with its test tools"
  pip_install "$VENV/bin/python" -e "${REPO}[test]"
  install_lua
  install_test_programs
  say "running the test suite"
  cd "$REPO"
  set +e
  # PYTEST_ARGS: extra pytest options, split on spaces on purpose (e.g. "-x -q").
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pytest ${PYTEST_ARGS:-}
  rc=$?
  set -e
  [ "$rc" -ne 5 ] || die "no test ran (pytest exit 5)"
  exit "$rc"
fi

# The data dir the bridge picks (platformdirs' user data dir), unless AIHD_HOME says otherwise.
if [ -n "${AIHD_HOME:-}" ]; then
  HOME_DIR=$AIHD_HOME
elif [ "$(uname -s)" = Darwin ]; then
  HOME_DIR="$HOME/Library/Application Support/aihd-bridge"
else
  HOME_DIR="${XDG_DATA_HOME:-$HOME/.local/share}/aihd-bridge"
fi
VENV="$HOME_DIR/venv"
BIN_DIR="$HOME/.local/bin"
AIHD="$VENV/bin/aihd-bridge"

if [ "$MODE" = uninstall ]; then
  if [ -x "$AIHD" ]; then
    if [ "$PURGE" = 1 ]; then "$AIHD" setup --uninstall --purge; else "$AIHD" setup --uninstall; fi
  fi
  [ -L "$BIN_DIR/aihd-bridge" ] && rm -f "$BIN_DIR/aihd-bridge"
  rm -rf "$VENV"
  if [ "$PURGE" = 1 ]; then rm -rf "$HOME_DIR"; fi
  exit 0
fi

mkdir -p "$HOME_DIR"
chmod 700 "$HOME_DIR"
make_venv "$VENV"
say "installing aihd-bridge into $VENV"
pip_install "$VENV/bin/python" "$REPO"
# The version does not change between checkouts: reinstall the package itself so an update lands.
pip_install "$VENV/bin/python" --no-deps --force-reinstall "$REPO"

mkdir -p "$BIN_DIR"
ln -sf "$AIHD" "$BIN_DIR/aihd-bridge"
say "aihd-bridge is at $BIN_DIR/aihd-bridge"
case ":$PATH:" in
  *":$BIN_DIR:"*) ;;
  *) say "$BIN_DIR is not on your PATH: add  export PATH=\"$BIN_DIR:\$PATH\"  to your shell profile" ;;
esac

"$AIHD" setup ${SETUP_ARGS[@]+"${SETUP_ARGS[@]}"}
say "done. 'aihd-bridge doctor' checks the installation; './install.sh --uninstall' removes it."
