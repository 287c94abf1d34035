#!/usr/bin/env bash
# Create (or repair) a virtual environment from a fully pinned lock file.
#
#   scripts/ensure_venv.sh NAME LOCKFILE [--no-deps]
#
# The environment lives outside the clone, keyed by a hash of the lock file, so a
# fresh clone reuses it in seconds and any change to the lock builds a new one.
# A ".complete" stamp is written only after install and import check succeed:
# an environment without it is a half-finished install and is rebuilt, not trusted.
# Prints the environment's path on stdout; progress goes to stderr.
set -euo pipefail

name=$1
lock=$2
mode=${3:-}
root=${DEUROPENER_VENV_ROOT:-$HOME/.cache/deuropener/venvs}
hash=$(sha256sum < "$lock" | cut -c1-12)
venv="$root/$name-$hash"

if [[ -f "$venv/.complete" ]]; then
  echo "$venv"
  exit 0
fi

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

mkdir -p "$root"
if [[ -d "$venv" ]]; then
  log "$name: found an unfinished environment, rebuilding it"
  rm -rf "$venv"
fi
log "$name: creating $venv (from $lock; this takes a few minutes the first time)"
"${PYTHON:-python3}" -c "import sys; assert sys.version_info[:2] == (3, 11), sys.version" && "${PYTHON:-python3}" -m venv "$venv"

# pip shows its own progress bars on a terminal; keep them, they are the progress.
start=$(date +%s)
if [[ "$mode" == "--no-deps" ]]; then
  # Rasa 3.6.21 declares Python <3.11; its curated set is installed as-is (see ENGINEERING.md).
  "$venv/bin/python" -m pip install --no-deps --ignore-requires-python -r "$lock" >&2
else
  "$venv/bin/python" -m pip install --no-deps -r "$lock" >&2
fi
log "$name: installed in $(( $(date +%s) - start )) s; checking imports"

case "$name" in
  rasa) "$venv/bin/python" -c "import rasa, rasa.core.agent, tensorflow; print('rasa', rasa.__version__)" >&2 ;;
  app) "$venv/bin/python" -c "import telegram, sqlalchemy, spacy, rasa_sdk, pytest, cryptography, matplotlib, hypothesis; print('app ok')" >&2 ;;
esac

touch "$venv/.complete"
echo "$venv"
