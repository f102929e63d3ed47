#!/usr/bin/env bash
# Set up everything `make test` and `make demo` need on a fresh machine:
#   1. Debian packages used by the integration tests (fitsverify, redis-server,
#      postgresql, chromium for the status page's browser test) when they are missing, via apt-get (root or sudo);
#   2. a virtual environment in .venv with the package and its test extras.
# Safe to re-run: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[bootstrap] %s\n' "$*"; }

apt_packages=()
command -v fitsverify >/dev/null 2>&1 || apt_packages+=(fitsverify)
command -v redis-server >/dev/null 2>&1 || apt_packages+=(redis-server)
command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_packages+=(postgresql)
fi
if [ "${#apt_packages[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    log "installing Debian packages: ${apt_packages[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

find_python() {
    local candidate
    for candidate in python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 \
                     /usr/bin/python3.12 python3.11 /usr/bin/python3.11 python3; do
        if "$candidate" -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

stamp=.venv/.installed
if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt "$stamp" ]; then
    if [ ! -x .venv/bin/python ]; then
        python=$(find_python) || { echo "error: Python 3.11 or newer is required" >&2; exit 1; }
        log "creating .venv with $python ($("$python" --version))"
        "$python" -m venv .venv
    fi
    log "installing Python packages into .venv (first run takes about a minute)"
    pip_log=.venv/pip-install.log
    if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e '.[test]'; } \
            >"$pip_log" 2>&1; then
        grep -v "^WARNING: Location" "$pip_log" | tail -40 >&2
        echo "error: pip install failed; full log in $pip_log" >&2
        exit 1
    fi
    .venv/bin/python -c 'import lsst.ts.archiver, lsst.ts.salkit' || { echo "error: the package did not install into .venv" >&2; exit 1; }
    touch "$stamp"
fi
log "ready: $(.venv/bin/python --version)"
