#!/usr/bin/env bash
# Set up everything `make test` and `make demo` need on a fresh machine:
#   1. Debian packages used by the integration tests (fitsverify, redis-server,
#      postgresql, chromium for the status page's browser test) when they are missing, via apt-get (root or sudo);
#   2. a virtual environment in .venv with the package and its test extras.
# Safe to re-run: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[bootstrap] %s\n' "$*"; }
started=$SECONDS

# Copy pip's output to the log and show progress instead: a count of the
# packages collected (downloaded or found in a local wheel directory), then
# how many are being installed (the longest step on a first run).
pip_progress() {
    local line count=0 tty=0
    [ -t 1 ] && tty=1
    while IFS= read -r line; do
        printf '%s\n' "$line" >>"$pip_log"
        case "$line" in
            Collecting*)
                count=$((count + 1))
                if [ "$tty" -eq 1 ]; then
                    printf '\r[bootstrap]   %3d packages collected, %3d s: %-40.40s' \
                        "$count" "$((SECONDS - started))" "${line#Collecting }"
                elif [ $((count % 20)) -eq 0 ]; then
                    log "  $count packages collected ($((SECONDS - started)) s)"
                fi
                ;;
            "Installing collected packages: pip") ;;
            "Installing collected packages:"*)
                [ "$tty" -eq 1 ] && printf '\n'
                local names="${line#Installing collected packages: }" commas
                commas="${names//[^,]/}"
                log "  installing $((${#commas} + 1)) packages ($((SECONDS - started)) s so far; about 20-60 s more)"
                count=0
                ;;
        esac
    done
    if [ "$tty" -eq 1 ] && [ "$count" -gt 0 ]; then printf '\n'; fi
}

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
    log "installing Debian packages: ${apt_packages[*]} (a few minutes when chromium or postgresql is among them)"
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
    pip_log=.venv/pip-install.log
    if [ -f "$stamp" ]; then
        log "updating Python packages in .venv (pyproject.toml changed; usually under a minute)"
    else
        log "installing Python packages into .venv: about 95 packages; 40 s with a local wheel cache," \
            "up to 4 minutes when all must be downloaded (full log: $pip_log)"
    fi
    : >"$pip_log"
    if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e '.[test]'; } \
            2>&1 | pip_progress; then
        grep -v "^WARNING: Location" "$pip_log" | tail -40 >&2
        echo "error: pip install failed; full log in $pip_log" >&2
        exit 1
    fi
    .venv/bin/python -c 'import lsst.ts.archiver, lsst.ts.salkit' || { echo "error: the package did not install into .venv" >&2; exit 1; }
    touch "$stamp"
    log "Python packages installed in $((SECONDS - started)) s"
fi
log "ready: $(.venv/bin/python --version)"
