"""The demo mesh that `check --demo` and `targets --demo` show: the shared harness mesh (real API server
output) made into a small, realistic installation with a few things to find. scripts/demo_snapshot.py
loads it into the fake API server and gathers it with the real cluster/gather.py.

- emojivoto: emoji (regular sidecar), web (native sidecar), voting at 1/2 (its app container crash-loops),
  vote-bot meshed by an old injector whose proxy has no `linkerd-admin` port, and a completed Job pod;
- the Linkerd control plane, and `default`'s unmeshed d1 pods;
- the collector (our config, a pinned image) exporting to an in-cluster OpenObserve, with a few export
  retries and one scrape answered 403 in its logs;
- every meshed proxy answering /metrics twice, 10 s of traffic apart (tests/demo_proxies.py), for
  `stat --demo`: voting with errors, emoji with high latency.
"""
from __future__ import annotations

import calendar
import copy
import time
import uuid

import demo_proxies
import scenarios
from conftest import mesh_objects

NS = scenarios.NS
# "now" for the demo: a few minutes after the harness mesh started (its pods start at 09:14)
TAKEN_AT = float(calendar.timegm(time.strptime("2026-11-25T09:31:40Z", "%Y-%m-%dT%H:%M:%SZ")))
# when the gather read the proxies (fixed, as TAKEN_AT): 10 s apart, the window `stat --demo` shows
PROXY_READS_AT = (TAKEN_AT + 0.5, TAKEN_AT + 10.5)
VOTING = "voting-6d9f7c8b5d-x2kqp"
VOTE_BOT = "vote-bot-5f6b8c9d4c-m7tzn"

LOGS = scenarios.READY_LOG + "".join([
    "2026-11-25T09:21:03.418Z\tinfo\tinternal/retry_sender.go:133\tExporting failed. Will retry the request after "
    "interval.\t{\"kind\": \"exporter\", \"data_type\": \"metrics\", \"name\": \"otlp_grpc/backend\", \"error\": "
    "\"rpc error: code = Unavailable desc = connection error: desc = \\\"transport: Error while dialing: dial tcp "
    "10.96.112.7:5081: connect: connection refused\\\"\", \"interval\": \"%s\"}\n" % interval
    for interval in ("5.207s", "9.882s", "17.104s")
] + [
    "2026-11-25T09:24:31.902Z\twarn\tinternal/transaction.go:129\tFailed to scrape Prometheus endpoint\t"
    "{\"kind\": \"receiver\", \"name\": \"prometheus/linkerd\", \"data_type\": \"metrics\", \"scrape_timestamp\": "
    "1764062671902, \"target_labels\": \"{__name__=\\\"up\\\", instance=\\\"10.244.0.26:4191\\\", "
    "job=\\\"linkerd-proxy\\\", namespace=\\\"emojivoto\\\", pod=\\\"%s\\\"}\", \"error\": \"server returned "
    "HTTP status 403 Forbidden\"}\n" % VOTING,
])


def _clone(pod: dict, name: str, ip: str, app: str, owner: str, uid_tail: str) -> dict:
    out = copy.deepcopy(pod)
    meta = out["metadata"]
    template_hash = name.rsplit("-", 2)[1]
    meta.update(name=name, generateName=name.rsplit("-", 1)[0] + "-", uid=f"5e3c1a52-d3b1-4c1e-9f0e-{uid_tail}")
    meta.pop("managedFields", None)
    meta["labels"] = dict(meta["labels"], app=app, **{"pod-template-hash": template_hash})
    if "linkerd.io/proxy-deployment" in meta["labels"]:
        meta["labels"]["linkerd.io/proxy-deployment"] = owner
    meta["ownerReferences"] = [dict(meta["ownerReferences"][0], name=f"{owner}-{template_hash}",
                                    uid=f"0a7d2f44-6c1b-4e8e-8d5a-{uid_tail}")]
    out["status"]["podIP"] = ip
    out["status"]["podIPs"] = [{"ip": ip}]
    return out


def _voting(emoji: dict) -> dict:
    """1/2: the proxy is ready, the app container crash-loops."""
    pod = _clone(emoji, VOTING, "10.244.0.26", "voting-svc", "voting", "5b1a9c3e7d21")
    app = next(c for c in pod["spec"]["containers"] if c["name"] == "emoji-svc")
    app.update(name="voting-svc", image="buoyantio/emojivoto-voting-svc:v10")
    status = next(s for s in pod["status"]["containerStatuses"] if s["name"] == "emoji-svc")
    status.update(name="voting-svc", image="buoyantio/emojivoto-voting-svc:v10", ready=False, started=False,
                  restartCount=4,
                  lastState={"terminated": {"exitCode": 2, "reason": "Error", "startedAt": "2026-11-25T09:28:02Z",
                                            "finishedAt": "2026-11-25T09:28:04Z"}},
                  state={"waiting": {"reason": "CrashLoopBackOff",
                                     "message": "back-off 1m20s restarting failed container=voting-svc"}})
    for condition in pod["status"]["conditions"]:
        if condition["type"] in ("Ready", "ContainersReady"):
            condition.update(status="False", reason="ContainersNotReady",
                             lastTransitionTime="2026-11-25T09:28:04Z")
    return pod


def _vote_bot(emoji: dict) -> dict:
    """Meshed by an old injector: the proxy declares no `linkerd-admin` port, so no scrape job finds it."""
    pod = _clone(emoji, VOTE_BOT, "10.244.0.27", "vote-bot", "vote-bot", "7c2e4b6a9f30")
    proxy = next(c for c in pod["spec"]["containers"] if c["name"] == "linkerd-proxy")
    proxy["ports"] = [p for p in proxy["ports"] if p.get("name") != "linkerd-admin"]
    app = next(c for c in pod["spec"]["containers"] if c["name"] == "emoji-svc")
    app.update(name="vote-bot", image="buoyantio/emojivoto-web:v10", ports=[])
    status = next(s for s in pod["status"]["containerStatuses"] if s["name"] == "emoji-svc")
    status.update(name="vote-bot", image="buoyantio/emojivoto-web:v10")
    return pod


def _deployment(template: dict, name: str, app: str) -> dict:
    out = copy.deepcopy(template)
    out["metadata"] = {k: v for k, v in out["metadata"].items() if k not in ("managedFields", "uid")}
    out["metadata"]["name"] = name
    out["metadata"].pop("annotations", None)
    out["spec"]["selector"] = {"matchLabels": {"app": app}}
    out["spec"]["template"]["metadata"]["labels"] = dict(out["spec"]["template"]["metadata"].get("labels") or {},
                                                         app=app)
    return out


def _fixed_metadata(obj: dict) -> dict:
    """What the fake server would fill in with "now" and a random uid, fixed: the same mesh, the same file."""
    meta = obj["metadata"]
    meta.setdefault("creationTimestamp", "2026-11-25T09:10:00Z")
    meta.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo/{obj.get('kind')}/{meta.get('namespace')}/"
                                                             f"{meta['name']}")))
    return obj


class _Fixed:
    """The fake API server, as scenarios see it, adding objects with fixed metadata."""

    def __init__(self, api):
        self._api = api

    def add(self, obj: dict) -> dict:
        return self._api.add(_fixed_metadata(copy.deepcopy(obj)))

    def __getattr__(self, name):
        return getattr(self._api, name)


def load(api) -> None:
    """Load the demo mesh into a fake API server."""
    api.add_many(mesh_objects())
    scenarios.healthy(_Fixed(api))
    api.remove("pods", "vote-bot-7bcc5d66d5-68trp", "emojivoto")      # replaced by its meshed version
    emoji = scenarios.pod(api, "emojivoto", "emoji-547b6957d6-s59rz")
    api.add(_voting(emoji))
    api.add(_vote_bot(emoji))
    emoji_deployment = api.get("deployments", "emoji", "emojivoto")
    api.add(_deployment(emoji_deployment, "voting", "voting-svc"))
    api.set_logs(NS, scenarios.COLLECTOR_POD, scenarios.COLLECTOR_CONTAINER, LOGS)
    # the counters a live collector shows: points sent grow, none failed (the retries succeeded)
    api.set_proxy(NS, scenarios.COLLECTOR_POD, 8888, "metrics", body=scenarios.growing_metrics(sent_step=2400))
    demo_proxies.serve(api)
