#!/usr/bin/env bash
# Installs everything TideLens needs into the repository: a Python environment in
# .venv (with the `tidelens` command) and the built web app. Re-running it only
# redoes the parts whose inputs changed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "TideLens needs Python 3.11 or newer as '$python' (set PYTHON=...)." >&2
  exit 1
fi

stamp() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$python" -m venv .venv
fi
py_stamp=$(stamp pyproject.toml scripts/setup.sh)
if [ "$(cat .venv/.tidelens-stamp 2>/dev/null)" != "$py_stamp" ]; then
  echo "==> installing Python packages (first time: a few minutes)"
  .venv/bin/pip install -q --upgrade pip
  # torch first, pinned, so that nothing later resolves a different build.
  .venv/bin/pip install -q torch==2.14.1 torchvision==0.29.1
  .venv/bin/pip install -q -e ".[dev]" torch==2.14.1 torchvision==0.29.1
  # tidecv is the test oracle; its own dependency list pulls the GUI OpenCV
  # build, which would overwrite the headless one, so its imports are listed in
  # the dev extra instead.
  .venv/bin/pip install -q --no-deps tidecv==1.0.1
  .venv/bin/python -c 'import cv2, torch, torchvision, pytorch_grad_cam, tidecv' \
    || { echo "Python packages did not import cleanly" >&2; exit 1; }
  echo "$py_stamp" > .venv/.tidelens-stamp
fi

if [ -f frontend/package.json ]; then
  if ! command -v npm >/dev/null; then
    echo "The web app needs Node.js 20.19+ and npm on PATH." >&2
    exit 1
  fi
  web_stamp=$(stamp frontend/package.json frontend/package-lock.json)
  if [ "$(cat frontend/node_modules/.tidelens-stamp 2>/dev/null)" != "$web_stamp" ]; then
    echo "==> installing web packages"
    (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
    echo "$web_stamp" > frontend/node_modules/.tidelens-stamp
  fi
  src_stamp=$(find frontend/src frontend/index.html frontend/vite.config.ts \
    frontend/package-lock.json -type f -print0 2>/dev/null | sort -z \
    | xargs -0 cat | sha256sum | cut -c1-16)
  if [ "$(cat backend/tidelens/web/.stamp 2>/dev/null)" != "$src_stamp" ]; then
    echo "==> building the web app"
    (cd frontend && npm run --silent build)
    rm -rf backend/tidelens/web
    cp -r frontend/dist backend/tidelens/web
    echo "$src_stamp" > backend/tidelens/web/.stamp
  fi
fi
echo "==> set-up done ($root)"
