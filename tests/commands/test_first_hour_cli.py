"""A newcomer's first hour (issue 26): the smaller things a first try meets, through the CLI."""
from __future__ import annotations

import json

from helpers import run_cli

CONFIG = """\
receivers:
  prometheus/linkerd:
    config:
      scrape_configs: [{job_name: linkerd-proxy, static_configs: [{targets: ["10.0.0.1:4191"]}]}]
exporters:
  otlp_grpc: {endpoint: "otlp.example:4317"}
service:
  pipelines:
    metrics: {receivers: [prometheus/linkerd], exporters: [otlp_grpc]}
"""


# -- 10. -n with a snapshot, an unknown image, a server that is not an API server ----------------------

def test_demo_refuses_another_collector_namespace(nowhere):
    for command in ("check", "targets"):
        result = run_cli(command, "--demo", "-n", "foo")
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr == ("Error: -n foo does not apply to --demo: it holds the collector of namespace "
                                 "'observability' (for another one, take a snapshot: `kubectl linkerd-otel snapshot "
                                 "-n foo -f FILE`)\n")
    assert run_cli("check", "--demo", "-n", "observability").exit_code == 1     # its own: the report


def test_validate_says_when_the_image_is_unknown_and_which_schema_it_used(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    result = run_cli("validate", "-f", str(path), "--image", "foo/bar:1")
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"√ {path} is a valid config for foo/bar:1 (not a collector image this plugin knows; "
                             "its tag has no major.minor version: checked against any distribution, newest "
                             "version; give --distribution core|contrib|k8s to be exact)\n")
    known = run_cli("validate", "-f", str(path), "--image", "otel/opentelemetry-collector-contrib:0.150.1")
    assert known.stdout.endswith("is a valid config for otel/opentelemetry-collector-contrib:0.150.1\n")
    doc = json.loads(run_cli("validate", "-f", str(path), "--image", "foo/bar:1", "-o", "json").stdout)
    assert doc["checkedAs"].startswith("foo/bar:1 (not a collector image this plugin knows")


def test_version_against_a_server_that_is_not_an_api_server(fake_api):
    fake_api.answer(b"<html>404 page not found</html>", path=r"^/version$", status=404)
    result = run_cli("version")
    assert result.exit_code == 2
    assert result.stdout == "Client Version: v0.1.0\n"
    assert result.stderr == (f"Error: get version: not found: the server at {fake_api.url} is not a Kubernetes API "
                             "server, or that is not its base URL; check the cluster's server: in the kubeconfig "
                             "(`kubectl config view --minify`) or --server\n")


# -- 6. completion, a mistyped command, one-line usage errors, whole summaries -------------------------

def test_stat_completes_resource_types(capsys):
    from kubectl_linkerd_otel.cli import cli
    from kubectl_linkerd_otel.commands import shell_completion

    shell_completion.main(cli, ["stat", ""])
    assert capsys.readouterr().out == ("deploy\tDeployments\nsts\tStatefulSets\nds\tDaemonSets\nns\tNamespaces\n"
                                       "pod\tPods\n:4\n")
    shell_completion.main(cli, ["stat", "-A", "d"])
    assert capsys.readouterr().out == "deploy\tDeployments\nds\tDaemonSets\n:4\n"
    shell_completion.main(cli, ["stat", "statef"])
    assert capsys.readouterr().out == "statefulset\nstatefulsets\n:4\n"


def test_a_mistyped_command_gets_did_you_mean():
    result = run_cli("chek")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "Error: unknown command 'chek'; did you mean 'check'? (see 'kubectl linkerd-otel --help')\n"
    assert run_cli("frobnicate").stderr == "Error: unknown command 'frobnicate' (see 'kubectl linkerd-otel --help')\n"


def test_completion_without_a_shell_is_one_line():
    result = run_cli("completion")
    assert result.exit_code == 2
    assert result.stderr == ("Error: Missing argument '{bash|zsh|fish}'. Choose from: bash, zsh, fish "
                             "(see 'kubectl linkerd-otel completion --help')\n")


def test_top_level_help_keeps_every_summary_whole():
    out = run_cli("--help").stdout
    commands = out.split("\nCommands:\n", 1)[1]
    summaries, current = [], ""
    for line in commands.splitlines():
        if line[:4] == "    ":
            current += " " + line.strip()
        else:
            if current:
                summaries.append(current)
            current = line.strip()
    summaries.append(current)
    import click

    from kubectl_linkerd_otel.cli import cli

    ctx = click.Context(cli)
    shown = [n for n in cli.list_commands(ctx) if not cli.get_command(ctx, n).hidden]
    assert len(summaries) == len(shown) >= 9, summaries
    for summary in summaries:
        assert summary.endswith(".") and not summary.endswith("..."), summary
