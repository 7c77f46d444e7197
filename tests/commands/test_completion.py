"""Completion: cobra's protocol for kubectl, click's scripts for direct use, and the hidden metadata command."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import run_cli
from kubectl_linkerd_otel import entry
from kubectl_linkerd_otel.cli import cli
from kubectl_linkerd_otel.commands import shell_completion as completion


def lines(answer: str):
    *candidates, directive = answer.rstrip("\n").split("\n")
    return [c.split("\t")[0] for c in candidates], directive


def test_subcommands_complete_with_descriptions_and_no_file_completion():
    answer = completion.cobra_answer(cli, ["comp"])
    values, directive = lines(answer)
    assert values == ["completion"]
    assert directive == ":4"
    assert answer.startswith("completion\tPrint the shell completion script")


def test_empty_word_offers_visible_commands_but_not_hidden_ones():
    values, directive = lines(completion.cobra_answer(cli, [""]))
    assert {"completion", "version"} <= set(values)
    assert "_extension-metadata" not in values
    assert lines(completion.cobra_answer(cli, ["_"]))[0] == []
    assert directive == ":4"


def test_global_flags_complete_before_and_after_the_subcommand():
    assert lines(completion.cobra_answer(cli, ["--kube"]))[0] == ["--kubeconfig"]
    assert "--namespace" in lines(completion.cobra_answer(cli, ["completion", "--nam"]))[0]
    assert "--context" in lines(completion.cobra_answer(cli, ["version", "--"]))[0]


def test_choice_arguments_and_option_values_complete():
    assert lines(completion.cobra_answer(cli, ["completion", ""]))[0] == ["bash", "zsh", "fish"]
    assert lines(completion.cobra_answer(cli, ["completion", "z"]))[0] == ["zsh"]
    assert lines(completion.cobra_answer(cli, ["version", "-o", ""]))[0] == ["text", "json", "yaml"]
    assert lines(completion.cobra_answer(cli, ["version", "--output=j"]))[0] == ["json"]


def test_no_words_is_the_same_as_one_empty_word():
    assert completion.cobra_answer(cli, []) == completion.cobra_answer(cli, [""])


def test_main_speaks_cobra_to_kubectl(capsys):
    completion.main(cli, ["comp"])
    assert capsys.readouterr().out.splitlines()[-1] == ":4"
    completion.main(cli, ["__complete", "completion", "b"])
    assert capsys.readouterr().out == "bash\n:4\n"
    completion.main(cli, ["__completeNoDesc", "comp"])
    assert capsys.readouterr().out == "completion\n:4\n"


def test_console_script_answers_like_kubectl_expects():
    # The installed entry point, as kubectl runs it (a separate process, no terminal).
    proc = subprocess.run([sys.executable, "-c",
                           "import sys; sys.argv[0] = 'kubectl_complete-linkerd_otel';"
                           "from kubectl_linkerd_otel.entry import complete_main; complete_main()", "ver"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert lines(proc.stdout) == (["version"], ":4")


def test_entry_dispatches_on_the_name_it_was_started_under(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["/somewhere/kubectl_complete-linkerd_otel", "completion", "f"])
    entry.main()
    assert capsys.readouterr().out == "fish\n:4\n"


def test_entry_runs_the_cli_under_its_plugin_names(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["/somewhere/kubectl-linkerd_otel", "_extension-metadata"])
    with pytest.raises(SystemExit) as exit_:
        entry.main()
    assert exit_.value.code == 0
    assert json.loads(capsys.readouterr().out) == {"name": "linkerd-otel", "checks": "always"}


@pytest.mark.parametrize("shell,marker", [
    ("bash", "complete -o nosort -F"),
    ("zsh", "compdef"),
    ("fish", "complete --no-files --command"),
])
def test_completion_command_prints_click_scripts_for_both_binary_names(shell, marker):
    result = run_cli("completion", shell)
    assert result.exit_code == 0, result.output
    assert marker in result.stdout
    assert "_KUBECTL_LINKERD_OTEL_COMPLETE" in result.stdout
    for name in ("kubectl-linkerd_otel", "linkerd-otel"):
        assert name in result.stdout


def test_completion_command_rejects_unknown_shells():
    result = run_cli("completion", "tcsh")
    assert result.exit_code == 2
    assert "tcsh" in result.stderr


def test_direct_use_scripts_are_answered(monkeypatch, capsys):
    """What the bash script does on TAB: call the binary back with the completion variable set."""
    monkeypatch.setattr(sys, "argv", ["linkerd-otel"])
    monkeypatch.setenv("COMP_WORDS", "linkerd-otel completion ba")
    monkeypatch.setenv("COMP_CWORD", "2")
    assert completion.shell_complete(cli, "bash_complete") == 0
    assert capsys.readouterr().out.strip() == "plain,bash"


def test_direct_use_through_the_entry(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/linkerd-otel"])
    monkeypatch.setenv(completion.COMPLETE_VAR, "bash_complete")
    monkeypatch.setenv("COMP_WORDS", "linkerd-otel vers")
    monkeypatch.setenv("COMP_CWORD", "1")
    with pytest.raises(SystemExit) as exit_:
        entry.main()
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == "plain,version"


def test_extension_metadata_is_what_linkerd_expects_and_hidden():
    result = run_cli("_extension-metadata")
    assert result.exit_code == 0
    assert result.stdout == '{"name":"linkerd-otel","checks":"always"}\n'
    assert "_extension-metadata" not in run_cli("--help").stdout


def test_command_descriptions_are_whole_lines_not_clicks_45_character_cut():
    answer = completion.cobra_answer(cli, [""])
    descriptions = [line.split("\t", 1)[1] for line in answer.splitlines() if "\t" in line]
    assert descriptions and not [d for d in descriptions if d.endswith("...")]
    assert "version\tPrint the plugin version and the Kubernetes API server version." in answer


def _two_context_kubeconfig(tmp_path, server_kubeconfig):
    import yaml

    doc = yaml.safe_load(open(server_kubeconfig))
    extra = {"apiVersion": "v1", "kind": "Config", "current-context": "staging",
             "clusters": [{"name": "staging-cluster", "cluster": {"server": "https://127.0.0.1:1"}}],
             "users": [{"name": "staging-admin", "user": {"token": "x"}}],
             "contexts": [{"name": "staging", "context": {"cluster": "staging-cluster",
                                                          "user": "staging-admin"}}]}
    path = tmp_path / "second"
    path.write_text(yaml.safe_dump(extra))
    return str(path), doc


def test_context_cluster_and_user_names_come_from_the_kubeconfig(fake_api, tmp_path, monkeypatch):
    import os

    second, first = _two_context_kubeconfig(tmp_path, fake_api.kubeconfig_path)
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([fake_api.kubeconfig_path, second]))
    first_context = first["contexts"][0]["name"]
    assert sorted(lines(completion.cobra_answer(cli, ["check", "--context", ""]))[0]) == \
        sorted([first_context, "staging"])
    assert lines(completion.cobra_answer(cli, ["--context", "sta"]))[0] == ["staging"]
    assert "staging-cluster" in lines(completion.cobra_answer(cli, ["version", "--cluster", ""]))[0]
    assert lines(completion.cobra_answer(cli, ["version", "--user", "staging-a"]))[0] == ["staging-admin"]
    # --kubeconfig names one file: only its names
    assert lines(completion.cobra_answer(cli, ["--kubeconfig", second, "--context", ""]))[0] == ["staging"]


def test_kubeconfig_flag_completes_file_names():
    assert completion.cobra_answer(cli, ["--kubeconfig", ""]) == ":0\n"


def test_namespaces_complete_from_the_cluster(mesh_api):
    names = lines(completion.cobra_answer(cli, ["check", "-n", ""]))[0]
    stored = sorted(ns["metadata"]["name"] for ns in mesh_api.objects("namespaces"))
    assert names == stored and "linkerd" in names
    expected = [name for name in stored if name.startswith("li")]
    assert lines(completion.cobra_answer(cli, ["-n", "li"]))[0] == expected
    # cobra completes `--flag=prefix` with bare values; the shell script re-attaches the flag
    assert lines(completion.cobra_answer(cli, ["check", "--namespace=li"]))[0] == expected


def test_namespace_completion_offers_nothing_when_the_cluster_cannot_answer(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert completion.cobra_answer(cli, ["check", "-n", ""]) == ":4\n"


def test_file_flags_of_targets_complete_file_names():
    assert completion.cobra_answer(cli, ["targets", "--pods", ""]) == ":0\n"
    assert completion.cobra_answer(cli, ["targets", "--config", "co"]) == ":0\n"
