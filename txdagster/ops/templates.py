"""CloudFormation templates as data. Their short tags become one-key dicts (``!GetAtt Q.Arn`` ->
``{"GetAtt": "Q.Arn"}``), enough to read what a template declares without resolving it."""

from __future__ import annotations

from typing import Any

import yaml


class _TemplateLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{suffix}", node.start_mark)
    return {suffix: value}


_TemplateLoader.add_multi_constructor("!", _tag)


def read_template(text: str) -> dict[str, Any]:
    return yaml.load(text, Loader=_TemplateLoader)


def declared_parameters(text: str) -> set[str]:
    return set(read_template(text).get("Parameters") or {})
