"""docker-compose.yml and Dockerfile.worker pass their offline validators."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _tool(name):
    path = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(path).exists():
        pytest.skip(f"{name} is not installed")
    return path


def test_compose_file_is_valid():
    env = {
        **os.environ,
        "S3_ACCESS_KEY": "a",
        "S3_SECRET_KEY": "b",
        "TIDELENS_API_TOKEN": "c",
    }
    out = subprocess.run(
        [_tool("docker-compose"), "-f", "docker-compose.yml", "config", "--quiet"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr


def test_worker_dockerfile_lints_clean():
    out = subprocess.run(
        [_tool("hadolint"), "Dockerfile.worker"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
