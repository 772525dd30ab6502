#!/usr/bin/env bash
# Install the Debian/Ubuntu packages ASFS needs, and only those that are missing.
#
#   scripts/system-deps.sh [all|python|qt|browser|fonts]...   (default: all)
#
# python   Python 3 with venv (Debian splits ensurepip into python3-venv)
# qt       the X11/EGL/font libraries the PySide6 wheels load at run time
# browser  Debian's Chromium, which Playwright drives (we never download a browser),
#          and libatomic1, which Playwright's bundled driver needs
# fonts    a text font and a colour emoji font (the UI shows ✔ ⏳ 🔁 📷 🎵 ▶)
#
# Nothing is installed when everything is present, so running it on every `make` is cheap.
# Not root: uses sudo when it can, else prints the exact apt-get command and carries on.
# No apt-get (macOS, Windows, other Linux): says so and carries on.
# ASFS_SKIP_SYSTEM_DEPS=1 skips the whole thing. PYTHON names the interpreter to check.
set -euo pipefail

QT_PKGS=(libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3 libglib2.0-0
         libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
         libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1
         libxrender1 libxi6 libsm6 libice6)
BROWSER_PKGS=(chromium libatomic1)
FONT_PKGS=(fonts-dejavu-core fonts-noto-color-emoji)

PY="${PYTHON:-python3}"

say() { printf 'system-deps: %s\n' "$*"; }

if [[ "${ASFS_SKIP_SYSTEM_DEPS:-}" == 1 ]]; then
    say "skipped (ASFS_SKIP_SYSTEM_DEPS=1)."
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
    say "apt-get not found; skipping system packages."
    say "You need Python 3.10+ with venv. On Linux without apt, install the Qt xcb libraries,"
    say "a Chromium (or Chrome/Brave) and an emoji font with your package manager."
    exit 0
fi

groups=("$@")
[[ ${#groups[@]} -eq 0 ]] && groups=(all)

wanted=()
for group in "${groups[@]}"; do
    case "$group" in
        all)     wanted+=(python "${QT_PKGS[@]}" "${BROWSER_PKGS[@]}" "${FONT_PKGS[@]}") ;;
        python)  wanted+=(python) ;;
        qt)      wanted+=("${QT_PKGS[@]}") ;;
        browser) wanted+=("${BROWSER_PKGS[@]}") ;;
        fonts)   wanted+=("${FONT_PKGS[@]}") ;;
        *) say "unknown group '$group' (use all, python, qt, browser, fonts)" >&2; exit 2 ;;
    esac
done

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }

missing=()
add_missing() {
    local p
    for p in "$@"; do
        [[ " ${missing[*]-} " == *" $p "* ]] || missing+=("$p")
    done
}

for pkg in "${wanted[@]}"; do
    if [[ "$pkg" == python ]]; then
        # The interpreter make builds .venv with ($PYTHON, else python3 on PATH).
        if ! command -v "$PY" >/dev/null 2>&1; then
            add_missing python3 python3-venv
        elif ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
            installed python3-venv || add_missing python3-venv
        fi
    elif ! installed "$pkg"; then
        add_missing "$pkg"
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    say "all system packages present."
    exit 0
fi

say "missing: ${missing[*]}"

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    # sudo only when it will not hang waiting for a password nobody can type.
    if command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [[ -t 0 ]]; }; then
        SUDO=(sudo)
    else
        say "not root and no usable sudo; run this as root, then make again:"
        say "  apt-get update && apt-get install --no-install-recommends ${missing[*]}"
        exit 0
    fi
fi

# Wait for another apt/dpkg run instead of failing on its lock.
APT_OPTS=(-o DPkg::Lock::Timeout=300)
export DEBIAN_FRONTEND=noninteractive

say "apt-get update"
"${SUDO[@]}" apt-get "${APT_OPTS[@]}" update -qq
say "apt-get install ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends "${missing[@]}"
say "installed: ${missing[*]}"
