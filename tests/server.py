"""Run the service as a real server process on loopback, the way `make run` does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any TIMELINE_ setting, plus `extra`."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TIMELINE_")} | extra


def cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m service ARGS` in `cwd`, with only the TIMELINE_ settings in `env`; its output kept."""
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextmanager
def running_server(
    env: dict[str, str], cwd: Path, timeout: float = 30
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start `python -m service serve` with `env`; yield its base URL once /health answers."""
    base = f"http://{env.get('TIMELINE_HOST', '127.0.0.1')}:{env['TIMELINE_PORT']}"
    with running_process(
        [sys.executable, "-m", "service", "serve"], clean_env(**env), cwd, base, timeout
    ) as found:
        yield found


@contextmanager
def running_process(
    command: list[str], env: dict[str, str], cwd: Path, base: str, timeout: float = 30
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start an HTTP server process (its output in `cwd`/server.log); yield `base` once its /health
    answers, and stop it afterwards."""
    log = open(cwd / "server.log", "w+")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited with {process.returncode}:\n{log.read()}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("server did not become healthy")
            time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
