"""Exec credential plugins (`users[].user.exec` in a kubeconfig), run with a time bound.

The `kubernetes` package runs the plugin with `communicate()` and no timeout: a plugin that hangs (a
stuck SSO helper, a prompt nobody sees) hangs every command forever. Here it gets --request-timeout
(30 s by default; 5 minutes when it may ask the user on a terminal, as a browser login does), then it and
every process it started are killed, and the error names the plugin.

The protocol is client-go's (k8s.io/client-go/plugin/pkg/client/auth/exec, API group
client.authentication.k8s.io): KUBERNETES_EXEC_INFO holds an ExecCredential with `spec.interactive`
(and `spec.cluster` under provideClusterInfo); the plugin prints an ExecCredential whose `status` holds a
`token`, or `clientCertificateData` + `clientKeyData` (PEM), and may hold `expirationTimestamp`.
"""
from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
from datetime import datetime, timezone
from typing import Optional

from ..errors import KubeconfigError

TIMEOUT = 30.0               # as a request's default timeout
INTERACTIVE_TIMEOUT = 300.0  # a plugin that may prompt on the terminal (a login) gets longer
CLUSTER_INFO_KEYS = ("server", "tls-server-name", "insecure-skip-tls-verify", "certificate-authority-data",
                     "proxy-url", "disable-compression")


class ExecPlugin:
    def __init__(self, exec_config: dict, *, context: str, cluster: dict, timeout: Optional[float] = None):
        if not isinstance(exec_config, dict):
            raise KubeconfigError(f"kubeconfig context {context!r}: user.exec must be a mapping")
        command = exec_config.get("command")
        if not isinstance(command, str) or not command:
            raise KubeconfigError(f"kubeconfig context {context!r}: user.exec needs a command (a string)")
        args = exec_config.get("args") or []
        env = exec_config.get("env") or []
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise KubeconfigError(f"kubeconfig context {context!r}: user.exec.args must be a list of strings")
        if not isinstance(env, list) or not all(isinstance(e, dict) and isinstance(e.get("name"), str)
                                                and isinstance(e.get("value"), str) for e in env):
            raise KubeconfigError(f"kubeconfig context {context!r}: user.exec.env must be a list of "
                                  "{name, value} strings")
        self.command = command
        self.argv = [command] + list(args)
        self.env = {e["name"]: e["value"] for e in env}
        self.api_version = exec_config.get("apiVersion") or "client.authentication.k8s.io/v1"
        self.interactive_mode = exec_config.get("interactiveMode") or "IfAvailable"
        self.cluster_info = ({k: cluster[k] for k in CLUSTER_INFO_KEYS if k in cluster}
                             if exec_config.get("provideClusterInfo") else None)
        self.context = context
        self.timeout = timeout
        self._lock = threading.Lock()
        self._status: Optional[dict] = None
        self._expiry: Optional[datetime] = None

    # --- what the rest of apiclient/ uses ------------------------------------------------------------
    def user_entry(self, user: dict) -> dict:
        """`user` with its exec entry replaced by what the plugin gave (a token or client certificate data),
        for the kubernetes package's loader."""
        status = self.status()
        out = {k: v for k, v in user.items() if k != "exec"}
        if "token" in status:
            out["token"] = status["token"]
        else:
            out["client-certificate-data"] = base64.b64encode(status["clientCertificateData"].encode()).decode()
            out["client-key-data"] = base64.b64encode(status["clientKeyData"].encode()).decode()
        return out

    def authorization(self) -> Optional[str]:
        """The Authorization header value; the plugin runs again once its token has expired."""
        token = self.status().get("token")
        return f"Bearer {token}" if token else None

    def status(self) -> dict:
        with self._lock:
            if self._status is None or (self._expiry is not None and datetime.now(timezone.utc) >= self._expiry):
                self._status = self._run()
                self._expiry = _expiry(self._status.get("expirationTimestamp"))
            return self._status

    # --- running it -----------------------------------------------------------------------------
    def _interactive(self) -> bool:
        stdin = sys.stdin
        return self.interactive_mode != "Never" and stdin is not None and hasattr(stdin, "isatty") \
            and stdin.isatty()

    def _fail(self, why: str) -> KubeconfigError:
        return KubeconfigError(f"the credential plugin {self.command!r} of context {self.context!r} failed: {why}")

    def _run(self) -> dict:
        interactive = self._interactive()
        spec: dict = {"interactive": interactive}
        if self.cluster_info is not None:
            spec["cluster"] = self.cluster_info
        env = dict(os.environ)
        env.update(self.env)
        env["KUBERNETES_EXEC_INFO"] = json.dumps({"apiVersion": self.api_version, "kind": "ExecCredential",
                                                  "spec": spec})
        bound = self.timeout or (INTERACTIVE_TIMEOUT if interactive else TIMEOUT)
        try:
            # its own process group when nobody can answer it, so a timeout ends the helpers it started too
            process = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                       stderr=None if interactive else subprocess.PIPE,
                                       stdin=None if interactive else subprocess.DEVNULL,
                                       env=env, start_new_session=not interactive)
        except OSError as exc:
            raise self._fail(f"cannot run it: {exc.strerror or exc}") from None
        try:
            out, err = process.communicate(timeout=bound)
        except subprocess.TimeoutExpired:
            _kill(process, group=not interactive)
            how = "--request-timeout" if self.timeout else "raise it with --request-timeout"
            raise KubeconfigError(f"the credential plugin {self.command!r} of context {self.context!r} gave no "
                                  f"credentials within {_seconds(bound)} ({how}); it was stopped. Run it by "
                                  "hand to see what it waits for") from None
        except BaseException:   # Ctrl-C: the plugin goes too
            _kill(process, group=not interactive)
            raise
        if process.returncode != 0:
            first = (err or b"").decode("utf-8", "replace").strip().splitlines()
            raise self._fail(f"it exited with code {process.returncode}" + (f": {first[0][:300]}" if first else ""))
        return self._status_of(out)

    def _status_of(self, out: bytes) -> dict:
        try:
            doc = json.loads(out.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise self._fail("its output is not an ExecCredential (not JSON)") from None
        if not isinstance(doc, dict) or doc.get("kind") != "ExecCredential":
            raise self._fail("its output is not an ExecCredential")
        if doc.get("apiVersion") != self.api_version:
            raise self._fail(f"it answered apiVersion {doc.get('apiVersion')!r}, not {self.api_version!r}")
        status = doc.get("status")
        if not isinstance(status, dict):
            raise self._fail("its ExecCredential has no status")
        if isinstance(status.get("token"), str) and status["token"]:
            return status
        if isinstance(status.get("clientCertificateData"), str) and isinstance(status.get("clientKeyData"), str):
            return {k: v for k, v in status.items() if k != "token"}
        raise self._fail("its ExecCredential holds neither a token nor clientCertificateData and clientKeyData")


def _kill(process: subprocess.Popen, group: bool) -> None:
    try:
        if group and hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except OSError:
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def _expiry(value) -> Optional[datetime]:
    if not isinstance(value, str) or not value:
        return None
    try:   # RFC 3339; Python 3.9's fromisoformat takes neither `Z` nor nanoseconds
        text = re.sub(r"(\.\d+)?(Z|z)$", "+00:00", re.sub(r"\.\d+", "", value, count=1))
        return datetime.fromisoformat(text).astimezone(timezone.utc)
    except ValueError:
        return None   # unreadable: use the token until the API server refuses it


def _seconds(value: float) -> str:
    return f"{value:g}s"
