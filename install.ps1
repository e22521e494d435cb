# aihd-bridge installer for Windows (Windows PowerShell 5.1: every Windows 10 and 11). Safe to
# run again (that is also how you update). Right-click this file > "Run with PowerShell", or in
# a PowerShell window in this folder:
#
#   powershell -ExecutionPolicy Bypass -File .\install.ps1
#
# It finds Python 3.11 or newer through the py launcher (or, where uv is, lets uv bring a Python
# it manages), installs aihd-bridge into a virtual environment in %LOCALAPPDATA%\aihd-bridge and
# runs `aihd-bridge setup`: the Lightroom plugin, the bridge started at login (no window) and
# now, and a first photo sent to the sandbox.
#
#   -NoAutostart  do not start the bridge at login
#   -NoPlugin     leave Lightroom and darktable alone
#   -Uninstall    stop and remove everything but the upload history (-Purge: that too)
#   -NoPause      do not wait for Enter at the end (a right-click's window closes at once)
[CmdletBinding()]
param(
    [switch]$NoAutostart,
    [switch]$NoPlugin,
    [switch]$Uninstall,
    [switch]$Purge,
    [switch]$NoPause
)
# Native programs' exit codes are checked one by one: 'Stop' would turn their stderr into errors.
$ErrorActionPreference = 'Continue'
$Repo = $PSScriptRoot

function Say([string]$Text) { Write-Host "==> $Text" }

function Finish([int]$Code) {
    if (-not $NoPause) { [void](Read-Host 'Press Enter to close this window') }
    exit $Code
}

function Fail([string]$Text) {
    Write-Host "install.ps1: $Text" -ForegroundColor Red
    Finish 1
}

function Test-Python {
    # The py launcher comes with python.org's installer (and winget's): its newest Python 3.
    if (-not (Get-Command py -ErrorAction SilentlyContinue)) { return $false }
    & py -3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>$null
    return $LASTEXITCODE -eq 0
}

function Remove-Folder([string]$Path) {
    # Windows refuses to delete a file a program still holds: the bridge's Python may take a
    # moment to end after it stopped.
    for ($try = 1; (Test-Path -LiteralPath $Path) -and $try -le 10; $try++) {
        Remove-Item -LiteralPath $Path -Recurse -Force -ErrorAction SilentlyContinue
        if (Test-Path -LiteralPath $Path) { Start-Sleep -Seconds 1 }
    }
    if (Test-Path -LiteralPath $Path) { Write-Host "could not remove ${Path}: remove it by hand" }
}

function Invoke-Pip([string]$Python, [string[]]$Arguments) {
    & $Python -m pip --version *> $null
    if ($LASTEXITCODE -eq 0) {
        & $Python -m pip install --quiet @Arguments
    } else {  # uv's venvs come without pip
        & uv pip install --quiet --python $Python @Arguments
    }
    if ($LASTEXITCODE -ne 0) { Fail "installing aihd-bridge failed (see above)" }
}

# The data dir the bridge picks (platformdirs' user data dir), unless AIHD_HOME says otherwise.
$Data = if ($env:AIHD_HOME) { $env:AIHD_HOME } else { Join-Path $env:LOCALAPPDATA 'aihd-bridge' }
$Venv = Join-Path $Data 'venv'
$Python = Join-Path $Venv 'Scripts\python.exe'
$Aihd = Join-Path $Venv 'Scripts\aihd-bridge.exe'

if ($Uninstall) {
    if (Test-Path -LiteralPath $Aihd) {
        if ($Purge) { & $Aihd setup --uninstall --purge } else { & $Aihd setup --uninstall }
    }
    Remove-Folder $Venv
    if ($Purge) { Remove-Folder $Data }
    Finish 0
}

New-Item -ItemType Directory -Force -Path $Data | Out-Null
if (-not (Test-Path -LiteralPath $Python)) {
    if (Get-Command uv -ErrorAction SilentlyContinue) {
        Say "creating a virtual environment in $Venv (uv, with its own Python)"
        & uv venv --quiet --python-preference only-managed --python 3.12 $Venv
    } elseif (Test-Python) {
        Say "creating a virtual environment in $Venv"
        & py -3 -m venv $Venv
    } else {
        Fail ("Python 3.11 or newer is needed. Install it with:  winget install Python.Python.3.12" +
              "  (or from https://www.python.org/downloads/windows/), or install uv" +
              " (https://docs.astral.sh/uv/), which brings its own. Then run this again.")
    }
    if ($LASTEXITCODE -ne 0) { Fail "could not create a virtual environment in $Venv" }
}

Say "installing aihd-bridge into $Venv"
Invoke-Pip $Python @($Repo)
# The version does not change between checkouts: reinstall the package itself so an update lands.
Invoke-Pip $Python @('--no-deps', '--force-reinstall', $Repo)

$SetupArgs = @('setup')
if ($NoAutostart) { $SetupArgs += '--no-autostart' }
if ($NoPlugin) { $SetupArgs += '--no-plugin' }
& $Aihd @SetupArgs
if ($LASTEXITCODE -ne 0) { Fail "the set-up did not finish (see above); 'aihd-bridge doctor' tells more" }
Say "done. $Aihd doctor checks the installation; .\install.ps1 -Uninstall removes it."
Finish 0
