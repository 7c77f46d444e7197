"""Run the CLI as a person does, on a terminal: a separate process whose stdout and/or stderr is a
pseudo-terminal, and what it wrote there, byte for byte (colours and redraws included)."""
from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

SRC = Path(__file__).resolve().parent.parent / "src"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class Run:
    exit_code: int
    terminal: str       # what reached the terminal (stdout and stderr when both are on it)
    piped: str          # stdout, when it was a pipe


def plain(text: str) -> str:
    """What the terminal shows once colours are dropped, with the pty's \\r\\n as \\n."""
    return ANSI.sub("", text).replace("\r\n", "\n")


def run_on_terminal(*args: str, env: Optional[Dict[str, str]] = None, stdout_tty: bool = True,
                    columns: int = 160, timeout: float = 120) -> Run:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    full_env = dict(os.environ, PYTHONPATH=str(SRC), TERM="xterm-256color")
    full_env.pop("NO_COLOR", None)
    full_env.update(env or {})
    proc = subprocess.Popen([sys.executable, "-m", "kubectl_linkerd_otel", *args], env=full_env,
                            stdin=slave, stdout=slave if stdout_tty else subprocess.PIPE, stderr=slave,
                            close_fds=True)
    os.close(slave)
    chunks = []
    piped = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                raise TimeoutError(f"no output for {timeout}s from {args}")
            try:
                data = os.read(master, 65536)
            except OSError:          # EIO: every writer closed its end
                break
            if not data:
                break
            chunks.append(data)
        if not stdout_tty:
            piped = proc.stdout.read()
        code = proc.wait(timeout=timeout)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Run(code, b"".join(chunks).decode("utf-8", "replace"), piped.decode("utf-8", "replace"))
