"""Stable YAML: keys in the order we build them, multi-line strings (the collector config) as literal
blocks, documents separated by `---`."""
from __future__ import annotations

from typing import Iterable


def _dumper():
    # lazy: yaml costs ~12 ms at start-up; only YAML output needs it
    import yaml

    class Dumper(yaml.SafeDumper):
        def increase_indent(self, flow=False, indentless=False):
            # indent list items under their key, as kubectl and Helm charts do
            return super().increase_indent(flow, False)

    def represent_str(dumper, value):
        if "\n" in value:
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)

    Dumper.add_representer(str, represent_str)
    return Dumper


def dump(data) -> str:
    # lazy: yaml costs ~12 ms at start-up; only YAML output needs it
    import yaml

    return yaml.dump(data, Dumper=_dumper(), sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)


def dump_all(objects: Iterable[dict]) -> str:
    return "".join("---\n" + dump(obj) for obj in objects)
