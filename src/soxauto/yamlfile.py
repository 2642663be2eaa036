"""YAML files read with the line of every key and list item kept, for ``file:line`` errors.

libyaml's parser when PyYAML was built with it (every PyYAML wheel is), the pure-Python one
otherwise: the same safe tag set and the same values either way, about ten times faster. The
catalog, the reconciliation pack and the binding all read through here.
"""

from __future__ import annotations

import yaml
from yaml.constructor import SafeConstructor

YAMLError = yaml.YAMLError
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str):
    """The document as plain values (``yaml.safe_load``, faster)."""
    return yaml.load(text, Loader=_LOADER)


def compose(text: str) -> yaml.Node | None:
    """The document's node tree, each node with its start mark; ``None`` for an empty document."""
    return yaml.compose(text, Loader=_LOADER)


def located(node: yaml.Node, where: tuple, lines: dict[tuple, int]):
    """The plain value of ``node``; records in ``lines`` the 1-based line of every key path
    under ``where``. A key's own line wins over the line its value starts on."""
    lines.setdefault(where, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for k, v in node.value:
            lines[where + (k.value,)] = k.start_mark.line + 1
            out[k.value] = located(v, where + (k.value,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [located(v, where + (i,), lines) for i, v in enumerate(node.value)]
    return SafeConstructor().construct_object(node, deep=True)
