#!/usr/bin/env bash
# Install everything synthmouse needs on a fresh Debian/Ubuntu machine, then nothing more on later runs:
#   - system libraries for headless OpenGL rendering (EGL + Mesa's llvmpipe; a GPU driver is used where present),
#   - a virtual environment in .venv with synthmouse and the extras named in $1 (e.g. "test").
# Usage: scripts/bootstrap.sh [EXTRAS]
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"

apt_packages=(libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libgles2)
missing=()
if command -v dpkg >/dev/null 2>&1; then
  for pkg in "${apt_packages[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
fi
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "bootstrap: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: synthmouse needs Python >= 3.11 ($python is $("$python" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$python" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
# PyTorch first, at pinned versions (a CPU or CUDA build, whichever pip finds); pyproject keeps ranges.
torch_pins="${SYNTHMOUSE_TORCH_PINS:-torch==2.14.1 torchvision==0.29.1}"
case ",$extras," in
  *,test,*|*,torch,*)
    if ! .venv/bin/python -c 'import torch, torchvision' >/dev/null 2>&1; then
      echo "bootstrap: installing $torch_pins (large download on first install)"
      # shellcheck disable=SC2086
      .venv/bin/python -m pip install -q $torch_pins
    fi
    ;;
esac
spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp=".venv/.synthmouse-installed-$(echo "$extras" | tr ',' '-')"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing synthmouse${extras:+ with extras [$extras]} into .venv"
  .venv/bin/python -m pip install -q -e "$spec"
  .venv/bin/python -c "import synthmouse"
  touch "$stamp"
fi
