"""A real Prometheus 3.5.3 for differential tests, and the recordings of its answers.

Where a Prometheus comes from
-----------------------------
`PROMETHEUS` (a path), else `prometheus` on PATH (if it is 3.x), else `../shared/tools/prometheus.sh`
beside the repository (it unpacks Debian's package with dpkg-deb; `PROMETHEUS_SH` names another script,
e.g. `PROMETHEUS_SH=/nonexistent` to hide it). `NO_PROMETHEUS=1` ignores all three: a plain clone.

Recordings: the tests run on a plain clone too
----------------------------------------------
Every answer the tests take from Prometheus is recorded in `tests/golden/prometheus/<case set>.json`
(JSON: `prometheus_version`, the version line of the binary that made it, and one entry per case: the
answer, with the input that produced it, verbatim when small, else its sha256). Three modes, decided
once per session (`mode()`):

- *replay* (no binary found): the tests compare our engine with the recorded answers. Nothing is
  skipped. A case whose input no longer matches its recording, or that has none, fails with
  "recording stale: run scripts/record-prometheus.py".
- *compare* (a binary found): the tests also run the real Prometheus, check our engine against its live
  answer, and fail with "recording stale: run scripts/record-prometheus.py" when that answer differs
  from the recording (after the normalisation below).
- *record* (`RECORD_PROMETHEUS=1`, as `scripts/record-prometheus.py` sets; needs a binary): the live
  answers are written to the golden files at the end of the session. Entries of cases that did not
  run are kept, so `RECORD_PROMETHEUS=1 pytest -k CASE` re-records one case; the script's full run sets
  `RECORD_PROMETHEUS_FRESH=1`, which drops them (a removed case leaves no entry behind). An answer
  equal to the recorded one up to what varies (below) keeps the recorded entry: re-recording an
  unchanged tree changes no file.

`REQUIRE_PROMETHEUS=1` (CI: `.ci/run`) makes a missing binary a failure instead of a replay.

What is made reproducible, and how
----------------------------------
- Scrape pools (`/api/v1/targets`) are recorded as `summarize_pool` gives them: sorted label sets,
  discovered labels and scrape URLs; health, last scrape times and errors are left out. Where identical
  targets collapse into one, Prometheus shows the discovered labels of one of them at random (target
  groups reach it in map order), so the staleness check is told which targets collapse and ignores
  their discovered labels (the engine check accepts any of the candidates anyway).
- Config verdicts (`config_error`) are recorded without the log line's `time=` field and with the
  temporary directory written as `<dir>`.
- The query API answers of the metrics backend (`HttpTape`) hold times: the requests' `start`, `end`
  and `time` parameters and the sample times of the answers (and the values of `timestamp(...)`
  queries, which are times too) are relative to the time the client asked about. We chose to record
  them relative to that time (`now` = the request's `end`, else `time`) rather than to fix the clock:
  the plugin asks about "the last 5 minutes before now", and a fixed clock would need a hook in the
  plugin and samples at fixed times in Prometheus. A request is matched by method, path, parameters
  (times written `now-3600.000`) and a hash of its Authorization header; the replayed answer puts
  the recorded times back relative to the `now` of the request being answered. The staleness check
  compares status, content type and, per series, the newest value (times rounded to the minute);
  the number of points in a range and their exact times depend on when Prometheus scraped.

Targets are fed through `static_configs` carrying the `__meta_kubernetes_*` labels our service
discovery produces, or through `kubernetes_sd_configs` pointed at a tiny fake API server serving pods.
Every address is on the loopback range and the scrape interval is an hour, so Prometheus never sends
a scrape anywhere but to this machine (and in practice not at all during the run).
"""
from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, parse_qs, urlencode, urlparse

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
PROMETHEUS_SH = REPO.parent / "shared" / "tools" / "prometheus.sh"
GOLDEN = REPO / "tests" / "golden" / "prometheus"
RECORD_SCRIPT = "scripts/record-prometheus.py"
STARTUP_TIMEOUT = 60.0
INLINE_INPUT_CHARS = 2000     # inputs longer than this are recorded as their sha256


# -- where a Prometheus comes from -------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _discover() -> Tuple[Optional[str], str, str]:
    """(path of a Prometheus 3.x, its version line, why none was found): looked up once per session."""
    if os.environ.get("NO_PROMETHEUS") == "1":
        return None, "", "NO_PROMETHEUS=1 (a plain clone: PROMETHEUS, PATH and the shared script ignored)"
    candidates = []
    if os.environ.get("PROMETHEUS"):
        candidates.append(("PROMETHEUS", os.environ["PROMETHEUS"]))
    on_path = shutil.which("prometheus")
    if on_path:
        candidates.append(("PATH", on_path))
    reasons = []
    for where, path in candidates:
        major, line = _version(path)
        if major == 3:
            return path, line, ""
        reasons.append(f"{where} names {path}, " + ("which does not run" if major is None
                                                     else f"Prometheus {major}.x, not 3.x"))
    script = Path(os.environ.get("PROMETHEUS_SH") or PROMETHEUS_SH)
    if script.exists():
        proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=120)
        path = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        if proc.returncode == 0 and path and os.access(path, os.X_OK):
            major, line = _version(path)
            if major == 3:
                return path, line, ""
            reasons.append(f"{script} gave {path}, " + ("which does not run" if major is None
                                                        else f"Prometheus {major}.x, not 3.x"))
        else:
            reasons.append(f"{script} could not provide one (exit {proc.returncode}: "
                           f"{(proc.stderr.strip() or proc.stdout.strip())[:200]}; it needs dpkg-deb)")
    else:
        reasons.append(f"no {script}")
    return None, "", "; ".join(reasons)


def _version(path: str) -> Tuple[Optional[int], str]:
    """(major version, the version line) of a binary; (None, "") when it does not run as Prometheus."""
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None, ""
    match = re.search(r"prometheus, version (\d+)\.[^\n]*", proc.stdout + proc.stderr)
    return (int(match.group(1)), match.group(0).strip()) if proc.returncode == 0 and match else (None, "")


def short_version(line: str) -> str:
    """ "prometheus, version 3.5.3+ds1 (branch: ...)" -> "3.5.3"."""
    match = re.search(r"version (\d+\.\d+\.\d+)", line)
    return match.group(1) if match else line


def mode() -> str:
    """"record" (RECORD_PROMETHEUS=1), "compare" (a binary found) or "replay" (none: the recordings
    alone). A missing binary fails the test when recording or with REQUIRE_PROMETHEUS=1 (CI)."""
    path, _, reasons = _discover()
    if path is None:
        why = [name for name in ("RECORD_PROMETHEUS", "REQUIRE_PROMETHEUS") if os.environ.get(name) == "1"]
        if why:
            pytest.fail(f"no Prometheus 3.x, and {' and '.join(why)}=1 asks for one: {reasons} "
                        "(set PROMETHEUS=/path/to/prometheus)", pytrace=False)
        return "replay"
    return "record" if os.environ.get("RECORD_PROMETHEUS") == "1" else "compare"


def live() -> bool:
    """Whether this session runs the real Prometheus (compare or record)."""
    return mode() != "replay"


def prometheus_binary() -> str:
    """The path of a Prometheus 3.x binary, for the live modes; none found fails the test (never a
    skip: without one the tests replay the recordings and do not call this)."""
    path, _, reasons = _discover()
    if path is None:
        pytest.fail(f"no Prometheus 3.x: {reasons} (set PROMETHEUS=/path/to/prometheus)", pytrace=False)
    return path


def session_summary() -> str:
    """One line for pytest's terminal summary when Prometheus tests ran: which mode, and why."""
    if not _USED:
        return ""
    path, line, reasons = _discover()
    if path is None:
        return (f"Prometheus tests: replayed the recordings in {GOLDEN.relative_to(REPO)} (no binary: "
                f"{reasons})")
    what = "recorded into" if os.environ.get("RECORD_PROMETHEUS") == "1" else "ran and compared with"
    return f"Prometheus tests: {line} at {path}, {what} {GOLDEN.relative_to(REPO)}"


# -- recordings ---------------------------------------------------------------------------------------
_RECORDINGS: List["Recording"] = []
_USED: List[str] = []


def stale(message: str) -> None:
    pytest.fail(f"recording stale: {message}; run {RECORD_SCRIPT} (needs a Prometheus 3.5.3: "
                "PROMETHEUS=/path or ../shared/tools/prometheus.sh)", pytrace=False)


def fingerprint(value: Any) -> dict:
    """How an input is kept beside its answer: verbatim when short, else its sha256."""
    text = canonical(value)
    if len(text) <= INLINE_INPUT_CHARS:
        return {"input": json.loads(text)}
    return {"input_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def _short_diff(recorded: Any, got: Any) -> str:
    """The first difference of two JSON values, as a path and the two sides (kept short)."""
    def walk(a, b, path):
        if type(a) is not type(b):
            return path, a, b
        if isinstance(a, dict):
            for key in sorted(set(a) | set(b), key=str):
                if key not in a or key not in b or a[key] != b[key]:
                    return walk(a.get(key), b.get(key), f"{path}.{key}")
        elif isinstance(a, list):
            for i, (x, y) in enumerate(zip(a, b)):
                if x != y:
                    return walk(x, y, f"{path}[{i}]")
            if len(a) != len(b):
                return f"{path} (length)", len(a), len(b)
        return path, a, b
    where, a, b = walk(recorded, got, "")
    return f"at {where or '.'}: recorded {canonical(a)[:300]}, Prometheus now {canonical(b)[:300]}"


class Recording:
    """The recorded answers of one case set: tests/golden/prometheus/<name>.json."""

    def __init__(self, name: str):
        self.name = name
        self.path = GOLDEN / f"{name}.json"
        self.version, self.entries = "", {}
        if self.path.exists():
            with open(self.path, encoding="utf-8") as fh:
                doc = json.load(fh)
            self.version, self.entries = doc.get("recorded_with", ""), doc.get("entries") or {}
        self.new: Dict[str, dict] = {}
        _RECORDINGS.append(self)

    def where(self, key: str) -> str:
        return f"{self.path.relative_to(REPO)} entry {key!r}"

    def recorded(self, key: str, what: Any) -> dict:
        """The entry of `key`, its input checked against `what`; fails (stale) when absent or changed."""
        entry = self.entries.get(key)
        if entry is None:
            stale(f"no answer recorded for {self.where(key)}")
        wanted = fingerprint(what)
        if {k: entry.get(k) for k in wanted} != wanted:
            stale(f"the input of {self.where(key)} changed since it was recorded")
        return entry

    def answer(self, key: str, what: Any, ask: Callable[[], Any],
               normalise: Callable[[Any], Any] = lambda value: value) -> Any:
        """Prometheus' answer for case `key` whose input is `what`: the recording (replay) or `ask()`
        (compare, record). In compare mode a live answer unlike the recording (both through `normalise`)
        fails the test as stale."""
        _USED.append(self.name)
        current = mode()
        if current == "replay":
            return copy.deepcopy(self.recorded(key, what)["answer"])
        value = json.loads(json.dumps(ask()))      # as it would be read back from the file
        if current == "record":
            old = self.entries.get(key)
            if old is not None and {k: old.get(k) for k in fingerprint(what)} == fingerprint(what) and \
                    canonical(normalise(old["answer"])) == canonical(normalise(value)):
                value = old["answer"]     # the same answer up to what varies: no churn in the file
            self.keep(key, what, value)
            return value
        entry = self.recorded(key, what)
        if canonical(normalise(entry["answer"])) != canonical(normalise(value)):
            _, line, _ = _discover()
            versions = "" if short_version(line) == short_version(self.version) else \
                f" (recorded with {self.version or 'an unknown version'}, this binary is {line})"
            stale(f"Prometheus' answer for {self.where(key)} differs{versions}, "
                  f"{_short_diff(normalise(entry['answer']), normalise(value))}")
        return value

    def keep(self, key: str, what: Any, value: Any) -> None:
        self.new[key] = dict(fingerprint(what), answer=value)

    def save(self) -> Optional[Path]:
        """Write the answers recorded in this session (merged over the file's other entries)."""
        if not self.new:
            return None
        _, line, _ = _discover()
        entries = {} if os.environ.get("RECORD_PROMETHEUS_FRESH") == "1" else dict(self.entries)
        entries.update(self.new)
        doc = {"prometheus_version": short_version(line), "recorded_with": line, "case_set": self.name,
               "written_by": f"{RECORD_SCRIPT} (RECORD_PROMETHEUS=1 pytest ...); see tests/prometheus_harness.py",
               "entries": {k: entries[k] for k in sorted(entries)}}
        GOLDEN.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(dumps(doc) + "\n")
        os.replace(tmp, self.path)
        self.entries, self.new = entries, {}
        return self.path


def dumps(value: Any, levels: int = 5, indent: str = "") -> str:
    """JSON with the outer `levels` of objects and arrays one item a line, anything deeper on one line:
    a recording diffs by case and by target, without a line per label."""
    if levels <= 0 or not isinstance(value, (dict, list)) or not value:
        return json.dumps(value, ensure_ascii=False)
    inner = indent + " "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {dumps(v, levels - 1, inner)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    items = [f"{inner}{dumps(v, levels - 1, inner)}" for v in value]
    return "[\n" + ",\n".join(items) + f"\n{indent}]"


def save_recordings() -> List[Path]:
    """At the end of a recording session: write every case set that got answers."""
    if os.environ.get("RECORD_PROMETHEUS") != "1":
        return []
    return [p for p in (r.save() for r in _RECORDINGS) if p is not None]


def normalise_log(text: str) -> str:
    """A Prometheus log's text without what changes from run to run: `time=` and the temporary dir."""
    text = re.sub(r"(^|\s)time=\S+ ", r"\1", text)
    return re.sub(r"/[^\s\"]*/prom-cfg-[^/\s\"]+", "<dir>", text)


def recorded_config_error(recording: Recording, key: str, config: dict) -> str:
    """`config_error` of `config` through a recording: "" when Prometheus loads it, else its error."""
    return recording.answer(key, config, lambda: config_error(prometheus_binary(), config))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read().decode("utf-8"))


class Prometheus:
    """One Prometheus process for a whole config; `targets()` is its /api/v1/targets?state=any."""

    def __init__(self, config: dict, *, binary: Optional[str] = None):
        self.binary = binary or prometheus_binary()
        self.config = config
        self.dir = tempfile.mkdtemp(prefix="prom-diff-")
        self.port = free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = os.path.join(self.dir, "prometheus.log")

    def start(self) -> "Prometheus":
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w", encoding="utf-8") as fh:
            yaml.safe_dump(self.config, fh, sort_keys=False, allow_unicode=True)
        self._log = open(self.log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [self.binary, f"--config.file={cfg}", f"--web.listen-address=127.0.0.1:{self.port}",
             f"--storage.tsdb.path={os.path.join(self.dir, 'data')}", "--log.level=warn"],
            stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8") as fh:
                return fh.read()[-4000:]
        except OSError:
            return ""

    def targets(self) -> dict:
        return _get_json(f"http://127.0.0.1:{self.port}/api/v1/targets?state=any")

    def wait_for_pools(self, pools: List[str], *, with_targets: List[str] = (),
                       timeout: float = STARTUP_TIMEOUT) -> dict:
        """Poll until every pool has been synced (it is listed in droppedTargetCounts) and every pool of
        `with_targets` (fed by service discovery that may lag) has targets; then once more after a
        pause, to be sure nothing was still on its way."""
        deadline = time.monotonic() + timeout
        last_error = ""
        settled = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"Prometheus exited with {self.proc.returncode}:\n{self.log()}", pytrace=False)
            try:
                answer = self.targets()
            except OSError as exc:
                last_error = str(exc)
                time.sleep(0.25)
                continue
            data = answer.get("data") or {}
            counts = data.get("droppedTargetCounts") or {}
            seen = {t.get("scrapePool") for t in data.get("activeTargets") or []} | \
                   {t.get("scrapePool") for t in data.get("droppedTargets") or []}
            ready = all(p in counts for p in pools) and all(p in seen for p in with_targets)
            if ready:
                if settled is not None and _shape(settled) == _shape(answer):
                    return answer
                settled = answer
                time.sleep(1.0)
                continue
            settled = None
            last_error = (f"{len([p for p in pools if p in counts])}/{len(pools)} pools synced, "
                          f"{len([p for p in with_targets if p in seen])}/{len(with_targets)} discovered")
            time.sleep(0.25)
        pytest.fail(f"Prometheus did not sync every scrape pool within {timeout:.0f}s ({last_error}):\n"
                    f"{self.log()}", pytrace=False)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def config_error(binary: str, config: dict, timeout: float = 30.0) -> str:
    """Start Prometheus on `config` alone: "" when it loads it, else the error it exits with (its log
    without the `time=` field, the temporary directory written `<dir>`: see `normalise_log`)."""
    with tempfile.TemporaryDirectory(prefix="prom-cfg-") as tmp:
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w", encoding="utf-8") as fh:
            yaml.safe_dump(config, fh, sort_keys=False, allow_unicode=True)
        port = free_port()
        proc = subprocess.Popen([binary, f"--config.file={cfg}", f"--web.listen-address=127.0.0.1:{port}",
                                 f"--storage.tsdb.path={os.path.join(tmp, 'data')}", "--log.level=warn"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    out = proc.stdout.read() if proc.stdout else ""
                    return normalise_log(out.strip()) or f"exit {proc.returncode}"
                try:  # a config that loaded: the server answers /-/ready
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=0.5):  # noqa: S310
                        return ""
                except OSError:
                    time.sleep(0.05)
            return ""
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


# -- a fake Kubernetes API server, enough for Prometheus' pod discovery ---------------------------
class FakePodsApi:
    """Serves LIST and (idle) WATCH of pods, cluster-wide and per namespace, on 127.0.0.1."""

    def __init__(self, pods: List[dict]):
        self.pods = pods
        self.requests: List[str] = []
        self._stop = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                api.requests.append(self.path)
                url = urlparse(self.path)
                query = parse_qs(url.query)
                parts = url.path.strip("/").split("/")
                namespace = None
                if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 5 and parts[4] == "pods":
                    namespace = parts[3]
                elif parts != ["api", "v1", "pods"]:
                    body = b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}'
                    self.send_response(404)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                items = [dict(p, kind="Pod", apiVersion="v1") for p in api.pods
                         if namespace is None or p["metadata"].get("namespace") == namespace]
                if query.get("watch", ["false"])[0] in ("true", "1"):
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    events = []
                    if query.get("sendInitialEvents", ["false"])[0] == "true":
                        # A streaming list (WatchList): every pod as ADDED, then the end bookmark.
                        events = [{"type": "ADDED", "object": item} for item in items]
                        events.append({"type": "BOOKMARK", "object": {
                            "kind": "Pod", "apiVersion": "v1", "metadata": {
                                "resourceVersion": "1",
                                "annotations": {"k8s.io/initial-events-end": "true"}}}})
                    try:
                        for event in events:
                            data = json.dumps(event).encode() + b"\n"
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                        while not api._stop.wait(0.2):
                            pass
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        pass
                    return
                body = json.dumps({"kind": "PodList", "apiVersion": "v1",
                                   "metadata": {"resourceVersion": "1"}, "items": items}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakePodsApi":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


def _shape(answer: dict) -> List[str]:
    """The targets of an answer, order-free and without the fields that change on their own."""
    data = answer.get("data") or {}
    return sorted(canonical([t.get("scrapePool"), t.get("labels"), t.get("discoveredLabels")])
                  for t in (data.get("activeTargets") or []) + (data.get("droppedTargets") or []))


def canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def summarize_pool(answer: dict, pool: str) -> Dict[str, List[str]]:
    """A pool's active and dropped targets as sorted canonical strings (order-free comparison)."""
    data = answer.get("data") or {}
    active = sorted(canonical({"labels": t.get("labels"), "discoveredLabels": t.get("discoveredLabels"),
                               "scrapeUrl": t.get("scrapeUrl")})
                    for t in data.get("activeTargets") or [] if t.get("scrapePool") == pool)
    dropped = sorted(canonical(t.get("discoveredLabels"))
                     for t in data.get("droppedTargets") or [] if t.get("scrapePool") == pool)
    return {"active": active, "dropped": dropped}


Engine = Callable[[], Dict[str, List[str]]]


# -- the query API of a metrics backend, recorded -------------------------------------------------------
TIME_PARAMS = ("start", "end", "time")
KEPT_HEADERS = ("Content-Type", "WWW-Authenticate")


def _reference(params: Dict[str, str]) -> Optional[Decimal]:
    """The time a query asks about: its `end` (range query), else its `time` (instant query)."""
    for name in ("end", "time"):
        try:
            return Decimal(params[name])
        except (KeyError, InvalidOperation):
            continue
    return None


def _relative(value: Any, ref: Decimal, places: str = "0.001") -> Any:
    """`value` (a Unix time, as a number or a string) as "now-12.345" relative to `ref`; unchanged when
    it is no number."""
    try:
        delta = (Decimal(str(value)) - ref).quantize(Decimal(places))
    except InvalidOperation:
        return value
    if delta == 0:
        delta = abs(delta)
    return f"now{'+' if delta >= 0 else ''}{delta}"


def _absolute(value: Any, ref: Decimal) -> Optional[Decimal]:
    if isinstance(value, str) and value.startswith("now"):
        try:
            return ref + Decimal(value[3:])
        except InvalidOperation:
            return None
    return None


def request_key(method: str, path: str, params: Dict[str, str], authorization: Optional[str]) -> dict:
    """What identifies a request in a recording: times relative to its `now` (rounded to the second:
    `start` is computed apart from `end` by the client), the Authorization header only as a hash."""
    ref = _reference(params)
    kept = {name: (_relative(value, ref, "1") if name in TIME_PARAMS and ref is not None else value)
            for name, value in sorted(params.items())}
    auth = None if authorization is None else \
        "sha256:" + hashlib.sha256(authorization.encode("utf-8")).hexdigest()[:16]
    return {"method": method, "path": path, "params": kept, "authorization": auth}


def _points(series: dict) -> List[list]:
    if isinstance(series.get("values"), list):
        return [p for p in series["values"] if isinstance(p, list) and len(p) == 2]
    if isinstance(series.get("value"), list) and len(series["value"]) == 2:
        return [series["value"]]
    return []


def _map_times(doc: Any, params: Dict[str, str], convert: Callable[[Any, bool], Any]) -> Any:
    """A query answer with every sample time (and every value of a `timestamp(...)` query) passed through
    `convert(x, is_value)`; other answers unchanged."""
    doc = copy.deepcopy(doc)
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        return doc
    times_as_values = "timestamp(" in params.get("query", "")
    for series in data["result"]:
        if isinstance(series, dict):
            for point in _points(series):
                point[0] = convert(point[0], False)
                if times_as_values:
                    point[1] = convert(point[1], True)
    return doc


def response_template(status: int, headers: Any, body: bytes, params: Dict[str, str]) -> dict:
    """A response as recorded: status, the headers that matter, the body as JSON with its times relative
    to the request's `now` (or as text when it is no JSON)."""
    out = {"status": status, "headers": {h: headers[h] for h in KEPT_HEADERS if headers.get(h) is not None}}
    text = body.decode("utf-8", errors="replace")
    try:
        doc = json.loads(text)
    except ValueError:
        out["text"] = text
        return out
    ref = _reference(params)
    out["json"] = doc if ref is None else _map_times(doc, params, lambda x, _v: _relative(x, ref))
    return out


def render_response(template: dict, params: Dict[str, str]) -> bytes:
    """A recorded response's body for a request: its relative times put back relative to this `now`."""
    if "json" not in template:
        return template.get("text", "").encode("utf-8")
    ref = _reference(params)
    doc = template["json"]
    if ref is not None:
        def convert(x, is_value):
            when = _absolute(x, ref)
            if when is None:
                return x
            return format(when.normalize(), "f") if is_value else float(when)
        doc = _map_times(doc, params, convert)
    return json.dumps(doc).encode("utf-8")


def response_view(template: dict, params: Dict[str, str]) -> dict:
    """What the staleness check compares of a response: status, headers, and per series its labels and
    newest value (a time as minutes from `now`); the points themselves depend on when Prometheus scraped."""
    out = {"status": template.get("status"), "headers": template.get("headers")}
    doc = template.get("json")
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        out["body"] = doc if "json" in template else template.get("text")
        return out
    times_as_values = "timestamp(" in params.get("query", "")
    series_view = []
    for series in data["result"]:
        if not isinstance(series, dict):
            continue
        values = []
        for _, value in _points(series):
            if times_as_values and isinstance(value, str) and value.startswith("now"):
                values.append(float(Decimal(value[3:])))
            else:
                try:
                    values.append(float(value))
                except (TypeError, ValueError):
                    continue
        newest = max(values) if values else None
        if newest is not None and times_as_values:
            newest = f"now{round(newest / 60):+d}m"
        series_view.append(canonical([series.get("metric"), newest]))
    out.update(body_status=doc.get("status"), resultType=data.get("resultType"), series=sorted(series_view))
    return out


class HttpTape:
    """A Prometheus query API on 127.0.0.1 for the plugin's real HTTP client: in the live modes a proxy to
    the real Prometheus at `upstream` that records (record) or checks (compare) each exchange, without a
    binary a server answering from the recording. Exchanges are recorded per test (`begin`/`end`), in
    `recording` under the test's name; see the module docstring for how times are kept."""

    def __init__(self, recording: Recording, upstream: Optional[str]):
        self.recording = recording
        self.upstream = upstream.rstrip("/") if upstream else None
        self.test: Optional[str] = None
        self.exchanges: List[dict] = []
        self.problems: List[str] = []
        self.lock = threading.Lock()
        tape = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                status, headers, body = tape.exchange("GET", self.path, self.headers)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # -- one test at a time --------------------------------------------------------------------------
    def begin(self, test: str) -> None:
        _USED.append(self.recording.name)
        with self.lock:
            self.test, self.exchanges, self.problems = test, [], []
            self.expected: List[dict] = []
            if mode() != "record":
                self.expected = self.recording.recorded(test, None)["answer"]

    def end(self) -> None:
        """After a test: keep its exchanges (record), or fail it when one was stale or not recorded."""
        with self.lock:
            test, exchanges, problems = self.test, self.exchanges, self.problems
            self.test = None
        if mode() == "record":
            exchanges = sorted(exchanges, key=lambda e: canonical(e["request"]))
            old = (self.recording.entries.get(str(test)) or {}).get("answer")
            if old is not None and [self._view(e) for e in old] == [self._view(e) for e in exchanges]:
                exchanges = old     # the same answers up to what varies: no churn in the file
            self.recording.keep(test, None, exchanges)
        if problems:
            stale("; ".join(problems))

    @staticmethod
    def _view(exchange: dict) -> str:
        params = {k: v for k, v in exchange["request"]["params"].items()}
        return canonical([exchange["request"], response_view(exchange["response"], params)])

    # -- one request ---------------------------------------------------------------------------------
    def exchange(self, method: str, raw_path: str, headers: Any) -> Tuple[int, Dict[str, str], bytes]:
        """(status, headers, body) for one request; `headers` (case-insensitive) are the client's."""
        url = urlparse(raw_path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        key = request_key(method, url.path, params, headers.get("Authorization"))
        where = f"{self.recording.where(str(self.test))}: {method} {url.path} {canonical(key['params'])[:200]}"
        recorded = next((e["response"] for e in self.expected if e["request"] == key), None)
        if self.upstream is None:
            if recorded is None:
                self._problem(f"no answer recorded for {where}")
                return 500, {"Content-Type": "text/plain"}, b"no answer recorded for this request\n"
            return recorded["status"], dict(recorded["headers"]), render_response(recorded, params)
        status, got_headers, body = self._forward(raw_path, headers)
        template = response_template(status, got_headers, body, params)
        if mode() == "record":
            with self.lock:
                if all(e["request"] != key for e in self.exchanges):
                    self.exchanges.append({"request": key, "response": template})
        elif recorded is None:
            self._problem(f"no answer recorded for {where}")
        elif canonical(response_view(recorded, params)) != canonical(response_view(template, params)):
            self._problem(f"Prometheus' answer for {where} differs, "
                          f"{_short_diff(response_view(recorded, params), response_view(template, params))}")
        return status, {h: got_headers[h] for h in KEPT_HEADERS if got_headers.get(h)}, body

    def _problem(self, message: str) -> None:
        with self.lock:
            self.problems.append(message)

    def _forward(self, raw_path: str, headers: Any) -> Tuple[int, Any, bytes]:
        request = urllib.request.Request(self.upstream + raw_path)
        for name in ("Authorization", "Accept"):
            if headers.get(name):
                request.add_header(name, headers[name])
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()

    def get(self, path: str, params: dict, auth: Optional[Tuple[str, str]] = None) -> Tuple[int, str]:
        """GET `path?params` through the tape, as the tests' own client (basic auth when given)."""
        request = urllib.request.Request(f"{self.url}{path}?{urlencode(params)}")
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, response.read().decode()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
