"""Kubeconfig resolution with kubectl's rules, then the `kubernetes` package for credentials.

kubectl: `--kubeconfig` names one file; otherwise the files of KUBECONFIG are merged and the *first* file
that sets a value wins, current-context included (the Python client lets the last one win, and
`load_config()` falls back to in-cluster config when KUBECONFIG names several files). We resolve the
context ourselves and hand the merged config to the client's KubeConfigLoader, which handles tokens,
client certificates, exec plugins and auth providers.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from ..errors import KubeconfigError
from ..k8s.bounded import read_file
from ..k8s.kubeflags import KubeOptions
from ..k8s.limits import CERT_FILE, KUBECONFIG
from ..k8s.urls import check_server_url
from .exec_credential import ExecPlugin

IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


@dataclass
class Connection:
    """Everything needed to open HTTP connections to one API server."""

    server: str
    context: str
    ca_file: Optional[str] = None
    cert_file: Optional[str] = None
    key_file: Optional[str] = None
    verify: bool = True
    tls_server_name: Optional[str] = None
    proxy: Optional[str] = None
    # Returns the Authorization header value (refreshing exec/OIDC tokens when they expire), or None.
    authorization: Callable[[], Optional[str]] = field(default=lambda: None, repr=False)


def kubeconfig_paths(opts: KubeOptions) -> List[str]:
    if opts.kubeconfig:
        path = os.path.expanduser(opts.kubeconfig)
        if os.path.isdir(path):
            raise KubeconfigError(f"kubeconfig {opts.kubeconfig} is a directory; "
                                  "pass a kubeconfig file to --kubeconfig")
        if not os.path.exists(path):
            raise KubeconfigError(f"kubeconfig {opts.kubeconfig} does not exist; "
                                  "pass an existing file to --kubeconfig")
        return [path]   # /dev/null included: an empty config, as kubectl reads it
    env = os.environ.get("KUBECONFIG")
    if env:
        paths = [os.path.expanduser(p) for p in env.split(os.pathsep) if p]
        for p in paths:
            if os.path.isdir(p):
                raise KubeconfigError(f"KUBECONFIG names {p}, which is a directory; "
                                      "list kubeconfig files in KUBECONFIG")
        # as kubectl: files that do not exist are skipped; /dev/null is an empty config
        return [p for p in paths if os.path.exists(p)]
    default = os.path.expanduser("~/.kube/config")
    return [default] if os.path.isfile(default) else []


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.isfile(IN_CLUSTER_TOKEN)


def _read_yaml(path: str) -> dict:
    # lazy: yaml (15 ms) only when a kubeconfig is read, never for --demo or a snapshot
    import yaml

    from ..k8s.safeload import yaml_load

    raw = read_file(path, KUBECONFIG, label=f"kubeconfig {path}", error=KubeconfigError,
                    fix="point --kubeconfig at your kubeconfig")
    try:
        data = yaml_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise KubeconfigError(f"kubeconfig {path} is not a text file (not UTF-8); "
                              "point --kubeconfig at your kubeconfig") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = str(getattr(exc, "problem", "") or "")
        why = f": {problem.splitlines()[0]}" if problem.startswith(("too many aliases", "nested deeper")) else ""
        raise KubeconfigError(f"kubeconfig {path} is not valid YAML{where}{why}; "
                              "fix it or point --kubeconfig at another file") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise KubeconfigError(f"kubeconfig {path} is not a kubeconfig (expected a mapping)")
    for key in ("clusters", "contexts", "users"):
        if data.get(key) is not None and not isinstance(data.get(key), list):
            raise KubeconfigError(f"kubeconfig {path}: {key} must be a list")
    return data


def _absolutize(entry: dict, keys: tuple, base: str) -> dict:
    entry = dict(entry)
    for key in keys:
        value = entry.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            entry[key] = os.path.join(base, os.path.expanduser(value))
    return entry


def merge_kubeconfigs(paths: List[str]) -> dict:
    """kubectl's merge: for every named item and for current-context, the first file wins.

    Relative file references are made absolute against the file that declared them.
    """
    merged: dict = {"clusters": [], "contexts": [], "users": [], "current-context": ""}
    seen = {"clusters": set(), "contexts": set(), "users": set()}
    for path in paths:
        data = _read_yaml(path)
        base = os.path.dirname(os.path.abspath(path))
        if not merged["current-context"] and data.get("current-context"):
            if not isinstance(data["current-context"], str):
                raise KubeconfigError(f"kubeconfig {path}: current-context must be a string")
            merged["current-context"] = data["current-context"]
        for section, inner, file_keys in (
            ("clusters", "cluster", ("certificate-authority",)),
            ("users", "user", ("client-certificate", "client-key", "tokenFile")),
            ("contexts", "context", ()),
        ):
            for item in data.get(section) or []:
                if not isinstance(item, dict) or not item.get("name") or not isinstance(item["name"], str):
                    raise KubeconfigError(f"kubeconfig {path}: every entry of {section} needs a name "
                                          "(a string)")
                if item["name"] in seen[section]:
                    continue
                seen[section].add(item["name"])
                body = item.get(inner) or {}
                if not isinstance(body, dict):
                    raise KubeconfigError(f"kubeconfig {path}: {section} {item['name']!r} is malformed")
                merged[section].append({"name": item["name"], inner: _absolutize(body, file_keys, base)})
    return merged


def _named(items: list, name: str, inner: str) -> Optional[dict]:
    for item in items:
        if item["name"] == name:
            return item[inner]
    return None


def resolve(opts: KubeOptions) -> Connection:
    paths = kubeconfig_paths(opts)
    config = merge_kubeconfigs(paths) if paths else None
    if opts.server is not None:
        check_server_url(opts.server, "--server")
    if not paths or (not config["contexts"] and not config["current-context"] and opts.server):
        if opts.server:
            return Connection(server=check_server_url(opts.server, "--server"), context="(--server)",
                              verify=not opts.insecure_skip_tls_verify,
                              authorization=_static_token(opts.token))
        if _in_cluster():
            return _in_cluster_connection(opts)
        where = os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise KubeconfigError(f"no kubeconfig found ({where} does not exist); "
                              "set KUBECONFIG, pass --kubeconfig, or check `kubectl config view`")
    context_name = opts.context or config["current-context"]
    if not context_name:
        raise KubeconfigError("no current context in the kubeconfig; pass --context "
                              "or run `kubectl config use-context NAME`")
    context = _named(config["contexts"], context_name, "context")
    if context is None:
        names = ", ".join(c["name"] for c in config["contexts"]) or "none"
        raise KubeconfigError(f"context {context_name!r} not found in the kubeconfig "
                              f"(contexts: {names}); see `kubectl config get-contexts`")
    context = dict(context)
    if opts.cluster:
        context["cluster"] = opts.cluster
    if opts.user:
        context["user"] = opts.user
    cluster_name = context.get("cluster")
    if not cluster_name or _named(config["clusters"], cluster_name, "cluster") is None:
        raise KubeconfigError(f"cluster {cluster_name!r} of context {context_name!r} is not in the "
                              "kubeconfig; fix the context or pass --cluster")
    if context.get("user") and _named(config["users"], context["user"], "user") is None:
        raise KubeconfigError(f"user {context['user']!r} of context {context_name!r} is not in the "
                              "kubeconfig; fix the context or pass --user")
    cluster = _named(config["clusters"], cluster_name, "cluster") or {}
    if not cluster.get("server") and not opts.server:
        raise KubeconfigError(f"cluster {cluster_name!r} has no server address in the kubeconfig")
    if not opts.server:
        cluster = dict(cluster, server=check_server_url(cluster.get("server"),
                                                        f"cluster {cluster_name!r} of the kubeconfig"))
    for key in ("certificate-authority", "certificate-authority-data", "tls-server-name", "proxy-url"):
        if cluster.get(key) is not None and not isinstance(cluster.get(key), str):
            raise KubeconfigError(f"cluster {cluster_name!r} of the kubeconfig: {key} must be a string")
    config["clusters"] = [{"name": cluster_name, "cluster": cluster}]
    server = opts.server or cluster["server"]
    if not check_server_url(server, "--server").lower().startswith("https"):
        # client-go reads a user's credentials (tokens, passwords, exec plugins) only for TLS
        context.pop("user", None)
        config["users"] = []
    config["contexts"] = [{"name": context_name, "context": context}]
    config["current-context"] = context_name
    return _load(config, context_name, cluster, opts)


def _load(config: dict, context_name: str, cluster: dict, opts: KubeOptions) -> Connection:
    # lazy: the kubernetes client (about 150 ms) only when a cluster is reached
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigLoader

    plugin = _exec_plugin(config, context_name, cluster, opts)
    token_file = (_named(config["users"], config["contexts"][0]["context"].get("user") or "", "user") or {}).get(
        "tokenFile") if isinstance(config.get("users"), list) else None
    if isinstance(token_file, str) and token_file and os.path.exists(token_file):
        # the client reads it whole: not /dev/zero, not 10 GB
        read_file(token_file, CERT_FILE, label=f"the tokenFile {token_file} of context {context_name!r}",
                  error=KubeconfigError, fix="point it at the file holding the token")
    errors: List[str] = []
    handler = _Collect(errors)
    logging.getLogger().addHandler(handler)
    try:
        loader = KubeConfigLoader(config_dict=config, active_context=context_name,
                                  config_base_path=None)
        configuration = Configuration()
        loader.load_and_set(configuration)
    except ConfigException as exc:
        raise KubeconfigError(f"kubeconfig context {context_name!r}: {exc}") from None
    except (OSError, ValueError) as exc:
        raise KubeconfigError(f"kubeconfig context {context_name!r}: {exc}") from None
    except (TypeError, AttributeError, KeyError) as exc:   # a field of the wrong type
        raise KubeconfigError(f"kubeconfig context {context_name!r} is malformed (a field has the wrong "
                              f"type): check its user and cluster with `kubectl config view`") from None
    finally:
        logging.getLogger().removeHandler(handler)

    user = _named(config["users"], config["contexts"][0]["context"].get("user") or "", "user") or {}
    has_token = bool(_bearer(configuration))
    if "exec" in user and not has_token and not configuration.cert_file:
        command = (user.get("exec") or {}).get("command", "?")
        detail = errors[-1] if errors else "it returned no credentials"
        raise KubeconfigError(f"the credential plugin {command!r} of context {context_name!r} failed: "
                              f"{detail}")

    def authorization() -> Optional[str]:
        if opts.token:
            return f"Bearer {opts.token}"
        if plugin is not None:
            return plugin.authorization()
        if configuration.refresh_api_key_hook is not None:
            try:
                configuration.refresh_api_key_hook(configuration)
            except Exception as exc:  # an exec plugin or OIDC refresh that fails later
                raise KubeconfigError(f"refreshing the credentials of context {context_name!r} "
                                      f"failed: {exc}") from None
        return _bearer(configuration)

    return Connection(
        server=check_server_url(opts.server, "--server") if opts.server else cluster["server"],
        context=context_name,
        ca_file=configuration.ssl_ca_cert,
        cert_file=configuration.cert_file,
        key_file=configuration.key_file,
        verify=not (opts.insecure_skip_tls_verify or cluster.get("insecure-skip-tls-verify")),
        tls_server_name=cluster.get("tls-server-name"),
        proxy=cluster.get("proxy-url"),
        authorization=authorization,
    )


def _exec_plugin(config: dict, context_name: str, cluster: dict, opts: KubeOptions):
    """The context's exec credential plugin, run once here with a time bound (exec_credential.py), its
    answer put in place of the exec entry for the loader; None when the user has none, or has a token or
    an auth-provider the loader uses first."""
    user_name = config["contexts"][0]["context"].get("user") or ""
    user = _named(config["users"], user_name, "user")
    if not isinstance(user, dict) or "exec" not in user or opts.token:
        return None
    if user.get("auth-provider") or user.get("token") or user.get("tokenFile"):
        return None
    plugin = ExecPlugin(user["exec"], context=context_name, cluster=cluster, timeout=opts.request_timeout)
    entry = plugin.user_entry(user)
    config["users"] = [{"name": u["name"], "user": entry if u["name"] == user_name else u["user"]}
                       for u in config["users"]]
    return plugin


def _in_cluster_connection(opts: KubeOptions) -> Connection:
    # lazy: the kubernetes client (about 150 ms) only when a cluster is reached
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.incluster_config import InClusterConfigLoader, SERVICE_CERT_FILENAME

    configuration = Configuration()
    try:
        InClusterConfigLoader(token_filename=IN_CLUSTER_TOKEN,
                              cert_filename=SERVICE_CERT_FILENAME).load_and_set(configuration)
    except ConfigException as exc:
        raise KubeconfigError(f"in-cluster configuration failed: {exc}") from None

    def authorization() -> Optional[str]:
        if configuration.refresh_api_key_hook is not None:
            configuration.refresh_api_key_hook(configuration)
        return _bearer(configuration)

    return Connection(server=configuration.host.rstrip("/"), context="(in-cluster)",
                      ca_file=configuration.ssl_ca_cert,
                      verify=not opts.insecure_skip_tls_verify, authorization=authorization)


def _bearer(configuration) -> Optional[str]:
    # kubernetes >= 36 keeps the header under "BearerToken", older releases under "authorization".
    return configuration.api_key.get("BearerToken") or configuration.api_key.get("authorization")


def _static_token(token: Optional[str]) -> Callable[[], Optional[str]]:
    return lambda: f"Bearer {token}" if token else None


class _Collect(logging.Handler):
    """The client logs exec-plugin failures instead of raising them; keep the messages."""

    def __init__(self, sink: List[str]):
        super().__init__(level=logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage().strip().splitlines()[0] if record.getMessage() else "")
