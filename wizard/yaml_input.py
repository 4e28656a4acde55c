"""Read YAML that a person gives: bounded in size and depth, UTF-8 only, and each key once."""

from pathlib import Path
from typing import Any

import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode

from wizard.errors import UsageError, quoted
from wizard.units import KIB

MAX_FILE_BYTES = 256 * KIB
"""An answers file or draft is about 2 KiB; a file many times that large is the wrong file."""
MAX_DEPTH = 32
"""An answers file nests three levels deep (deployment.ports.https); deeper is not an answer."""
MAX_SCALAR_CHARS = 4096
"""The longest answer is a path, and a Linux path has at most 4095 characters."""
_MERGE_TAG = "tag:yaml.org,2002:merge"
_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def read_text(path: Path) -> str:
    """Return a file's text, refusing one over MAX_FILE_BYTES or not in UTF-8; OSError passes."""
    with path.open("rb") as stream:
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(
            f"{path} is over {MAX_FILE_BYTES // KIB} KiB, the limit for an answers file or draft",
            "check that it is the right file (answers take a few KiB)",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as problem:
        kind = "UTF-16 text, not UTF-8" if data[:2] in _UTF16_MARKS else "not UTF-8 text"
        raise UsageError(
            f"{path} is {kind} (byte 0x{data[problem.start]:02x} at offset {problem.start})",
            "save it as UTF-8",
        ) from None


def parse(text: str, source: str) -> Any:
    """Return the data of YAML text, refusing deep nesting, long values and repeated keys.

    A syntax error is raised as yaml.YAMLError for the caller to word; every refusal is a
    UsageError that names ``source`` and the line.
    """
    try:
        loader = _BoundedLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except _Refused as refused:
        raise UsageError(f"{source} line {refused.line}: {refused.message}", refused.hint) from None
    except yaml.reader.ReaderError as problem:
        line = text.count("\n", 0, problem.position) + 1
        raise UsageError(
            f"{source} line {line}: holds the control character 0x{problem.character:02x}, "
            "which YAML text cannot hold",
            "remove it, or check that this is the right file",
        ) from None


class _Refused(Exception):
    """Why the loader stopped, and where; ``parse`` words it with the source's name."""

    def __init__(self, mark: Mark, message: str, hint: str) -> None:
        super().__init__(message)
        self.line = mark.line + 1
        self.message = message
        self.hint = hint


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that stops at MAX_DEPTH levels, MAX_SCALAR_CHARS and a key given twice."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        """Compose one node, counting how deep it lies before PyYAML recurses into it."""
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(
                    self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                    f"nests deeper than {MAX_DEPTH} levels",
                    "answers nest at most three (deployment, ports, https); "
                    "check the brackets and indentation",
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """Return a node's value; a scalar its tag cannot read (2001-13-45 as a date) is refused."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, KeyError, AttributeError):
            if not isinstance(node, ScalarNode):
                raise
            kind = node.tag.rpartition(":")[2]
            raise _Refused(
                node.start_mark,
                f"{quoted(node.value)} is not a valid {kind}",
                "put it in quotes if it is meant as text",
            ) from None

    def construct_yaml_binary(self, node: ScalarNode) -> bytes:
        """Refuse binary data, which no answer is, before it passes for text."""
        raise _Refused(node.start_mark, "holds binary data (!!binary)", "write the value as text")

    def construct_scalar(self, node: ScalarNode | MappingNode) -> str:
        """Return a scalar's text, refusing one longer than any answer can be."""
        if isinstance(node.value, str) and len(node.value) > MAX_SCALAR_CHARS:
            raise _Refused(
                node.start_mark,
                f"a value of {len(node.value)} characters, longer than any answer "
                f"(at most {MAX_SCALAR_CHARS})",
                "check what was pasted there",
            )
        return super().construct_scalar(node)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Return a mapping, refusing a key given twice, which YAML would silently overwrite."""
        first_lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = first_lines.get(key)
            except TypeError:
                continue  # an unhashable key: PyYAML's own check refuses it below
            if first is not None:
                raise _Refused(
                    key_node.start_mark,
                    f"the key {quoted(str(key))} is given twice (first on line {first})",
                    "keep one of them (YAML would silently take the last)",
                )
            first_lines[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_BoundedLoader.add_constructor("tag:yaml.org,2002:binary", _BoundedLoader.construct_yaml_binary)
