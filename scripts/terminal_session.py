#!/usr/bin/env python3
"""Record what a person sees on a terminal into docs/terminal-session.md: a tmux session (send-keys,
capture-pane) running `check --demo`, `stat --demo` and `check --wait 8s` against an API server that
accepts connections and never answers, each once with colours and once with NO_COLOR=1.

    python scripts/terminal_session.py      (needs tmux and `make venv`; kubectl if present)

The screens are written as text (what the pane shows); the colours are checked on the pane's escape
sequences (`capture-pane -e`) and listed under each screen.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "terminal-session.md"
WIDTH, HEIGHT = 130, 120
SOCKET = f"linkerd-otel-session-{os.getpid()}"
COLOURS = {"31": "red", "32": "green", "33": "yellow", "90": "grey"}
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def silent_server() -> int:
    """A port that accepts connections and never answers (what `--wait` meets on a hung API server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held = []

    def accept() -> None:
        while True:
            held.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout


def start(env: dict) -> None:
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    tmux("new-session", "-d", "-s", "rec", "-x", str(WIDTH), "-y", str(HEIGHT),
         f"env -i {exports} bash --norc --noprofile")
    tmux("send-keys", "-t", "rec", "PS1='$ '; clear", "Enter")
    time.sleep(0.5)


def busy() -> bool:
    return tmux("display-message", "-p", "-t", "rec", "#{pane_current_command}").strip() != "bash"


def run(command: str, *, snapshots_at=()) -> list:
    """Type the command, wait for the prompt; (plain, with escapes) screens at the given seconds, then at
    the end."""
    tmux("send-keys", "-t", "rec", "clear", "Enter")
    time.sleep(0.3)
    tmux("clear-history", "-t", "rec")
    tmux("send-keys", "-t", "rec", command, "Enter")
    began = time.monotonic()
    screens = []
    for at in snapshots_at:
        time.sleep(max(0.0, began + at - time.monotonic()))
        screens.append(capture())
    time.sleep(0.5)
    while busy():
        time.sleep(0.2)
    time.sleep(0.3)
    screens.append(capture())
    return screens


def capture():
    plain = tmux("capture-pane", "-p", "-t", "rec", "-S", "-")
    escaped = tmux("capture-pane", "-p", "-e", "-t", "rec", "-S", "-")
    return plain.rstrip(), escaped


def colours(escaped: str) -> str:
    """Which colour marks which text, from the pane's escape sequences."""
    seen = {}
    for match in re.finditer(r"\x1b\[(3[0-7]|9[0-7])m([^\x1b]*)", escaped):
        name = COLOURS.get(match.group(1), match.group(1))
        text = match.group(2).strip().splitlines()[0][:60] if match.group(2).strip() else ""
        if text:
            seen.setdefault(name, [])
            if text not in seen[name] and len(seen[name]) < 4:
                seen[name].append(text)
    if not seen:
        return "no escape sequence at all" if "\x1b[" not in escaped else "escape sequences, but no colour"
    return "; ".join(f"{name}: {', '.join(f'`{t}`' for t in texts)}" for name, texts in sorted(seen.items()))


def main() -> int:
    if shutil.which("tmux") is None:
        sys.exit("terminal_session: tmux is needed (apt-get install -y tmux)")
    binaries = ROOT / ".venv" / "bin"
    if not (binaries / "kubectl-linkerd_otel").exists():
        sys.exit("terminal_session: run `make venv` first")
    plugin = "kubectl linkerd-otel" if shutil.which("kubectl") else "kubectl-linkerd_otel"
    port = silent_server()
    with tempfile.TemporaryDirectory() as home:
        kubeconfig = Path(home) / "silent.kubeconfig"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: hung\n"
            f"clusters: [{{name: hung, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
            "contexts: [{name: hung, context: {cluster: hung, user: me}}]\nusers: [{name: me, user: {}}]\n")
        path = f"{binaries}:{os.path.dirname(shutil.which('kubectl') or '/usr/bin/kubectl')}:/usr/bin:/bin"
        sections = []
        for no_color in (False, True):
            env = {"PATH": path, "HOME": home, "TERM": "xterm-256color", "LANG": "C.UTF-8"}
            if no_color:
                env["NO_COLOR"] = "1"
            start(env)
            try:
                scenes = [
                    (f"{plugin} check --demo", run(f"{plugin} check --demo")),
                    (f"{plugin} stat --demo", run(f"{plugin} stat --demo")),
                    (f"{plugin} check --wait 8s --kubeconfig $KUBECONFIG_OF_A_HUNG_SERVER",
                     run(f"{plugin} check --wait 8s --kubeconfig {kubeconfig}", snapshots_at=(3.0, 6.0))),
                ]
            finally:
                tmux("kill-server")
            sections.append((no_color, scenes))
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(sections, port), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


def render(sections, port: int) -> str:
    out = [
        "# A terminal session",
        "",
        "What a person sees, recorded by `python scripts/terminal_session.py`: a tmux pane of "
        f"{WIDTH} columns (`send-keys` types each command, `capture-pane` reads the screen), once with "
        "colours and once with `NO_COLOR=1`. Under each screen: the colours the pane's escape sequences "
        "(`capture-pane -e`) gave which text. The hung API server accepts connections on "
        f"127.0.0.1 and never answers; the kubeconfig naming it is replaced by `$KUBECONFIG_OF_A_HUNG_SERVER`.",
        "",
    ]
    coloured = {title: [plain for plain, _e in screens] for title, screens in sections[0][1]}
    for no_color, scenes in sections:
        out += [f"## {'With NO_COLOR=1' if no_color else 'With colours'}", ""]
        for title, screens in scenes:
            out += [f"### `{title}`", ""]
            for index, (plain, escaped) in enumerate(screens):
                if len(screens) > 1:
                    out += [f"While it waits ({3 * (index + 1)} s in):" if index < len(screens) - 1 else
                            "At the end (the prompt is back):", ""]
                if no_color and plain == coloured[title][index]:
                    out += ["The same screen as with colours, character for character.", ""]
                else:
                    text = re.sub(r"--kubeconfig \S+", "--kubeconfig $KUBECONFIG_OF_A_HUNG_SERVER", plain)
                    out += ["```", text.replace(f"127.0.0.1:{port}", "127.0.0.1:PORT"), "```", ""]
                out += [f"Colours: {colours(escaped)}.", ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.exit(main())
