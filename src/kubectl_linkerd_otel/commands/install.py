"""`install`: render the collector stack and apply it (or print it)."""
from __future__ import annotations

import os

import click

from ..errors import ApiTimeout, ApiUnreachable, KubeError, KubeconfigError, UsageError
from ..k8s.kubeflags import KubeOptions
from ..k8s.limits import CERT_FILE
from ..naming import SECRET_NAME
from .environment import environment
from .options import duration_seconds, global_options, kube_flags, output_option, parse_bool
from .output import print_instead_of_apply, print_objects

DRY_RUN_CHOICES = ("none", "client", "server")


def _dry_run(_ctx, _param, value):
    if value is None:
        return None
    value = str(value).strip().lower()
    if value in ("", "true", "client"):
        return "client"
    if value in ("none", "false"):
        return None
    if value == "server":
        return "server"
    raise click.BadParameter("use --dry-run, --dry-run=client, --dry-run=server or --dry-run=none")


def _bool(_ctx, _param, value):
    return parse_bool(value)


def bool_option(name: str, help: str):
    """A boolean flag as kubectl writes them: bare `--flag`, or `--flag=true|false`."""
    return click.option(name, is_flag=False, flag_value="true", default="false", metavar="[BOOL]",
                        callback=_bool, help=help)


def dry_run_option(func, verb: str = "applied"):
    return click.option("--dry-run", "dry_run", is_flag=False, flag_value="client", default=None,
                        metavar="[client|server|none]", callback=_dry_run,
                        help=f"client: print what would be {verb}, touch nothing; "
                             "server: let the API server validate without saving.")(func)


@click.command("install")
@kube_flags
@click.option("--linkerd-namespace", metavar="NS", default=None,
              help="Namespace of the Linkerd control plane (default: detected; offline: linkerd).")
@click.option("--mode", type=click.Choice(["deployment", "daemonset", "operator"]), default="deployment",
              show_default=True, help="One collector (deployment), one per node scraping its node "
                                      "(daemonset), or an OpenTelemetry Operator collector StatefulSet "
                                      "whose Target Allocator spreads the targets (operator).")
@click.option("--replicas", type=click.IntRange(1, 100), default=2, show_default=True,
              help="Collectors of --mode operator (the allocator shares the targets among them).")
@click.option("--image", default=None, metavar="IMAGE", help="Collector image (default: a pinned release).")
@click.option("--distribution", type=click.Choice(["core", "contrib", "k8s"]), default=None,
              help="Collector distribution: picks its pinned image (with --image: the distribution that "
                   "image is). Default: core.")
@click.option("--metrics", "metrics", default="all", show_default=True, metavar="all|golden|FILE",
              help="What is sent: every metric, the ones Linkerd's dashboards use (golden), or the "
                   "metric names listed in FILE (one per line).")
@click.option("--backend", metavar="NAME", default=None,
              help="Backend preset: openobserve (the default), otlp, datadog, newrelic, coralogix, "
                   "grafana-cloud, honeycomb, dynatrace, elastic, signoz. It sets the endpoint, protocol, "
                   "headers and temporality (docs/backends.md); explicit flags win.")
@click.option("--region", "--site", "region", metavar="REGION", default=None,
              help="The --backend's region or site (e.g. datadoghq.eu, eu, us-east-0).")
@click.option("--api-key-from-env", "api_key_env", metavar="VAR", default=None,
              help="Read the --backend's API key from the local environment variable VAR (kept in the "
                   "Secret, sent in the backend's own header).")
@click.option("--temporality", type=click.Choice(["cumulative", "delta"]), default=None,
              help="Metric temporality sent (default: what the --backend wants, else cumulative); delta "
                   "adds the cumulativetodelta processor (contrib or k8s distribution).")
@click.option("--exporter-endpoint", metavar="ENDPOINT", default=None,
              help="OTLP endpoint: host:port for grpc, a URL for http (default: the --backend's, else the "
                   "demo OpenObserve).")
@click.option("--exporter-protocol", type=click.Choice(["grpc", "http"]), default=None,
              help="Default: the --backend's, else grpc.")
@click.option("--header", "headers", multiple=True, metavar="NAME=VALUE",
              help="Exporter header (repeatable). Credential-like headers go to the Secret.")
@click.option("--secret-header", "secret_headers", multiple=True, metavar="NAME=VALUE",
              help="Exporter header kept in the Secret whatever its name (repeatable).")
@click.option("--basic-auth", metavar="USER:PASS", default=None,
              help="Exporter basic auth (kept in a Secret). Prefer --basic-auth-from-env.")
@click.option("--basic-auth-from-env", metavar="VAR", default=None,
              help="Read USER:PASS for basic auth from the local environment variable VAR.")
@bool_option("--insecure", help="Plain-text connection to the exporter endpoint.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="CA certificate (PEM) that signed the exporter endpoint's certificate.")
@bool_option("--debug-exporter", help="Also log metrics with the debug exporter.")
@click.option("--scrape-interval", default="30s", show_default=True, metavar="DURATION",
              help="How often every proxy is scraped (Prometheus duration: 15s, 1m).")
@click.option("--cpu-request", default="100m", show_default=True)
@click.option("--memory-request", default="256Mi", show_default=True)
@click.option("--cpu-limit", default=None, help="CPU limit (default: none).")
@click.option("--memory-limit", default="512Mi", show_default=True,
              help="Memory limit; memory_limiter and GOMEMLIMIT are sized from it.")
@bool_option("--show-secrets",
             help="Include the credentials Secret in printed YAML (for `| kubectl apply -f -`).")
@bool_option("--force-conflicts", help="Take over fields that another field manager changed.")
@bool_option("--skip-linkerd-check", help="Install even when Linkerd is not found.")
@bool_option("--skip-credentials-check",
             help="Apply without first proving the exporter credentials (an empty OTLP export, over "
                  "OTLP/HTTP or OTLP/gRPC as configured, sent from this machine before anything is "
                  "applied; printing never sends it).")
@bool_option("--restrict-metrics",
             help="Mesh the collector and let only it read the proxies' /metrics: a Linkerd Server, "
                  "HTTPRoutes and AuthorizationPolicies per meshed namespace (probes stay allowed).")
@click.option("--policy-namespace", "policy_namespaces", multiple=True, metavar="NS",
              help="With --restrict-metrics: restrict this namespace (repeatable; default: every namespace "
                   "with meshed pods).")
@click.option("--wait", "wait", is_flag=False, flag_value="true", default="true", metavar="[BOOL]",
              callback=_bool, help="Wait for the collectors to be ready (default true).")
@click.option("--timeout", default="5m", show_default=True, metavar="DURATION",
              help="How long --wait waits.")
@dry_run_option
@output_option("text", "yaml", "json", default=None)
def command(linkerd_namespace, mode, replicas, image, distribution, metrics, backend, region, api_key_env,
            temporality, exporter_endpoint, exporter_protocol,
            headers, secret_headers,
            basic_auth,
            basic_auth_from_env, insecure, ca_file, debug_exporter, scrape_interval, cpu_request, memory_request,
            cpu_limit, memory_limit, show_secrets, force_conflicts, skip_linkerd_check, skip_credentials_check,
            restrict_metrics,
            policy_namespaces, wait, timeout, dry_run, output):
    """Install the OpenTelemetry collector that scrapes the Linkerd proxies.

    \b
    On a terminal it applies (server-side) and waits for the rollout; piped, or with
    -o yaml / --dry-run, it prints the manifests instead:
      kubectl linkerd-otel install --exporter-endpoint otlp.example:4317 --basic-auth-from-env OTLP_CREDS
      kubectl linkerd-otel install --backend datadog --site datadoghq.eu --api-key-from-env DD_API_KEY
      linkerd-otel install --show-secrets | kubectl apply -f -
    """
    # lazy: the Source and the layers below load when the command runs (start-up time of --help)
    from ..cluster import install as applier
    from ..render.options import DEFAULT_IMAGE, InstallOptions, parse_header

    opts = global_options(click.get_current_context())
    env = environment(opts.no_color)
    if basic_auth and basic_auth_from_env:
        raise UsageError("--basic-auth and --basic-auth-from-env exclude each other: pick one")
    if basic_auth_from_env:
        basic_auth = os.environ.get(basic_auth_from_env)
        if not basic_auth:
            raise UsageError(f"--basic-auth-from-env: the environment variable {basic_auth_from_env} "
                             f"is not set or empty; export it as USER:PASSWORD")
        if ":" not in basic_auth or basic_auth.startswith(":"):
            raise UsageError(f"--basic-auth-from-env: the environment variable {basic_auth_from_env} "
                             f"must hold USER:PASSWORD")
    ca_pem = None
    if ca_file:
        # lazy: the Source and the layers below load when the command runs (start-up time of --help)
        from ..source.files import read_text

        ca_pem = read_text(ca_file, what="--ca-file", fix="give the PEM file of the CA certificate", limit=CERT_FILE)
        if "BEGIN CERTIFICATE" not in ca_pem:
            raise UsageError(f"--ca-file {ca_file} holds no PEM certificate")
    timeout_seconds = duration_seconds(timeout, flag="--timeout")
    if not timeout_seconds and wait and dry_run is None:
        raise UsageError("--timeout 0: give how long to wait, e.g. 5m, or --wait=false not to wait")

    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..collector.schema.distributions import PINNED_IMAGES

    metrics_keep = _metrics_keep(metrics)
    parsed_headers = [parse_header(h) for h in headers]
    parsed_secret_headers = [parse_header(h, flag="--secret-header") for h in secret_headers]
    if backend is None and (region is not None or api_key_env is not None):
        raise UsageError(f"{'--region/--site' if region is not None else '--api-key-from-env'} needs "
                         f"--backend NAME (e.g. --backend datadog)")
    if backend is not None:
        # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
        from ..render.backends import DELTA, resolve

        backend = backend.strip().lower()
        preset = resolve(backend, region=region, api_key_env=api_key_env,
                         api_key=os.environ.get(api_key_env) if api_key_env else None,
                         endpoint=exporter_endpoint, protocol=exporter_protocol, headers=parsed_headers,
                         secret_headers=parsed_secret_headers, basic_auth=basic_auth, temporality=temporality)
        exporter_endpoint, exporter_protocol = preset.endpoint, preset.protocol
        parsed_headers, parsed_secret_headers = preset.headers, preset.secret_headers
        temporality = preset.temporality
        for warning in preset.warnings or ():
            _warn(warning)
        if temporality == DELTA and image is None and distribution is None:
            distribution = "contrib"    # the pinned core image has no cumulativetodelta processor
    if image is None:
        image = PINNED_IMAGES[distribution] if distribution else DEFAULT_IMAGE
    install = InstallOptions(
        namespace=opts.namespace, mode=mode, replicas=replicas, image=image, distribution=distribution,
        metrics=metrics, metrics_keep=metrics_keep, backend=backend,
        temporality=temporality or "cumulative",
        exporter_endpoint=exporter_endpoint, exporter_protocol=exporter_protocol or "grpc",
        headers=parsed_headers, secret_headers=parsed_secret_headers,
        basic_auth=basic_auth, insecure=insecure,
        ca_pem=ca_pem, debug_exporter=debug_exporter, scrape_interval=scrape_interval,
        cpu_request=cpu_request,
        memory_request=memory_request, cpu_limit=cpu_limit, memory_limit=memory_limit,
    )
    if linkerd_namespace:
        install.linkerd_namespace = linkerd_namespace
    install.restrict_metrics = restrict_metrics
    if policy_namespaces and not restrict_metrics:
        raise UsageError("--policy-namespace needs --restrict-metrics")
    install.validate()
    _refuse_unsupported(install)
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..render.policy import validate_namespaces

    validate_namespaces(policy_namespaces)
    for warning in install.warnings():
        _warn(warning)

    if print_instead_of_apply(output, dry_run, env.stdout_isatty):
        _print(opts, install, linkerd_namespace, output, dry_run, show_secrets, policy_namespaces)
        return

    if not skip_credentials_check:
        # lazy: the Source and the layers below load when the command runs (start-up time of --help)
        from ..cluster.otlp_proof import prove_before_install

        prove_before_install(install, fix=_credential_source(api_key_env, basic_auth_from_env),
                             note=lambda line: _echo(f"Note: {line}", err=True), warn=_warn)
    try:
        kube = opts.kube()
    except KubeconfigError as exc:
        hint = "; ".join(h for h in (exc.hint, "--dry-run -o yaml prints the manifests without a cluster")
                         if h)
        raise KubeconfigError(exc.message, hint=hint) from None
    server_dry_run = dry_run == "server"
    printing_objects = output in ("json", "yaml")   # --dry-run=server -o yaml|json: objects, not lines
    results = applier.install(
        kube, install, linkerd_namespace=linkerd_namespace, require_linkerd=not skip_linkerd_check,
        server_dry_run=server_dry_run, force_conflicts=force_conflicts,
        echo=(lambda line: None) if printing_objects else _echo,
        note=(lambda line: _echo(f"Note: {line}", err=True)) if printing_objects else _echo,
        inform=lambda line: _echo(f"Note: {line}", err=True), warn=_warn,
        policy_namespaces=policy_namespaces)
    if printing_objects:
        _print_validated(results.stack + results.policy, output, show_secrets)
    if all(action == "unchanged" for _o, action in results.stack + results.policy):
        click.echo("nothing changed: the collector stack is already as rendered", err=True)
    if install.uses_demo_backend:
        _demo_note()
    if server_dry_run or not wait:
        return
    # lazy: the Source and the layers below load when the command runs (start-up time of --help)
    from ..cluster.rollout import wait_for_rollout
    from .progress import Progress

    try:
        if install.mode == "operator":
            # lazy: the Source and the layers below load when the command runs (start-up time of --help)
            from ..cluster.operator import wait_ready

            wait_ready(kube, install.namespace, timeout=timeout_seconds,
                       echo_err=lambda line: _echo(line, err=True))
            return
        with Progress(env.interactive, color=not env.no_color) as progress:
            wait_for_rollout(kube, results.workload, timeout=timeout_seconds, progress=progress,
                             echo_err=lambda line: _echo(line, err=True))
    except KubeError as exc:
        raise applier.with_hint(exc, "the collector stack is applied, only waiting for it failed: "
                                     "follow it with `kubectl linkerd-otel check`") from None


def _credential_source(api_key_env, basic_auth_from_env) -> str:
    """What to check when the backend refuses the credentials."""
    if api_key_env:
        return f"the API key in ${api_key_env}"
    if basic_auth_from_env:
        return f"USER:PASSWORD in ${basic_auth_from_env}"
    return "the credentials given with --header, --secret-header or --basic-auth"


def _echo(line: str, err: bool = False) -> None:
    """A line about what install did or found; it may quote the cluster (an annotation, an API server's
    message), so through `printable`."""
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..scrape.text import printable

    click.echo(printable(line), err=err)


def _warn(line: str) -> None:
    _echo(f"Warning: {line}", err=True)


def _metrics_keep(metrics: str):
    """--metrics: None for all, the golden names, or the names listed in the file."""
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..scrape.metrics import ALL, GOLDEN, GOLDEN_NAME, parse_metric_list

    if metrics == ALL:
        return None
    if metrics == GOLDEN_NAME:
        return list(GOLDEN)
    # lazy: the Source and the layers below load when the command runs (start-up time of --help)
    from ..source.files import read_text

    text = read_text(metrics, what="--metrics", fix="give all, golden, or a file with one metric name per line")
    return parse_metric_list(text, f"--metrics {metrics}")


def _refuse_unsupported(install) -> None:
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..render.collector_config import collector_config
    from ..render.compat import image_notes, refuse_unsupported

    refuse_unsupported(install, collector_config(install))
    for note in image_notes(install):
        click.echo(f"Warning: {note}", err=True)


def _print_validated(results, output: str, show_secrets: bool) -> None:
    """The objects as the API server answered the dry run (defaults filled in), like
    `kubectl apply --dry-run=server -o yaml`; the Secret only with --show-secrets."""
    latest = {}     # one entry per object, its last state (a restart re-applies the workload)
    for obj, action in results:
        if action == "skipped" or (obj.get("kind") == "Secret" and not show_secrets):
            continue
        obj = dict(obj, metadata={k: v for k, v in (obj.get("metadata") or {}).items()
                                  if k != "managedFields"})
        latest[(obj.get("kind"), obj["metadata"].get("namespace"), obj["metadata"].get("name"))] = obj
    print_objects(list(latest.values()), output)


def _kubeconfig_named(opts) -> bool:
    flags = opts.connection
    return any((flags.kubeconfig, flags.context, flags.cluster, flags.user))


def _no_kubeconfig_at_all(opts) -> bool:
    # lazy: the Source and the layers below load when the command runs (start-up time of --help)
    from ..source.live import kubeconfig_files

    return not opts.connection.server and not kubeconfig_files(KubeOptions())


def _demo_note() -> None:
    click.echo("Note: no --exporter-endpoint given: metrics go to the demo OpenObserve of the reference "
               "setup with its demo credentials; pass --exporter-endpoint and --basic-auth-from-env "
               "for a real backend", err=True)


def _print(opts, install, linkerd_namespace, output, dry_run, show_secrets, policy_namespaces=()) -> None:
    """Render only. Reads the cluster just to find Linkerd's namespace, and only when it can."""
    # lazy: the Source and the layers below load when the command runs (start-up time of --help)
    from ..cluster.install import prepare_print
    from ..render.manifests import render, secret_instructions

    if not linkerd_namespace:
        offline = None
        try:
            prepare_print(opts.kube(), install, warn=_warn,
                          note=lambda line: _echo(f"Note: {line}", err=True))
        except KubeconfigError:
            # a context or kubeconfig the user named must work; only no kubeconfig at all is "offline"
            if _kubeconfig_named(opts) or not _no_kubeconfig_at_all(opts):
                raise
            offline = "no kubeconfig found"
        except (ApiUnreachable, ApiTimeout):
            offline = "cluster not reachable"
        except KubeError as exc:
            raise KubeError(exc.message, hint="; ".join(h for h in (
                exc.hint, "--linkerd-namespace renders without asking the cluster") if h)) from None
        if offline:
            click.echo(f"Note: {offline}: rendering for the Linkerd control plane in namespace "
                       f"{install.linkerd_namespace} (--linkerd-namespace changes it)", err=True)
    if output is None and dry_run is None:
        click.echo("Note: stdout is not a terminal: printing the manifests instead of applying them "
                   "(pipe them into `kubectl apply -f -`, or pass -o text to apply)", err=True)
    kept = bool(install.kept_credentials)
    objects = render(install, include_secret=show_secrets and not kept)
    if install.restrict_metrics:
        # lazy: the Source and the layers below load when the command runs (start-up time of --help)
        from ..cluster.policy import plan_for_printing

        objects += plan_for_printing(opts.kube, install, policy_namespaces,
                                     note=lambda line: _echo(f"Note: {line}", err=True))
    print_objects(objects, output)
    if kept:
        click.echo(f"Note: the config uses the credentials of the existing secret/{SECRET_NAME} (kept; "
                   f"not in this output)", err=True)
    elif install.credentials() and show_secrets:
        click.echo("Note: this output holds the exporter credentials (a Secret): apply it, do not save "
                   "or share it", err=True)
    elif install.credentials() and not show_secrets:
        click.echo("Note: the Secret with the exporter credentials is left out of this output. "
                   "Create it before applying: " + secret_instructions(install) +
                   ", or re-run with --show-secrets when piping into "
                   "`kubectl apply -f -`", err=True)
    if install.uses_demo_backend:
        _demo_note()
