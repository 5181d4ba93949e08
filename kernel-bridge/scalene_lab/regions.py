"""Static facts about a source that Scalene's viewer expects per line: the
outermost enclosing loop, the enclosing function, the display region, and
the file's import statements."""

from __future__ import annotations

import ast
from dataclasses import dataclass

Span = tuple[int, int]
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass
class SourceFacts:
    """Per-line spans (1-based, inclusive) and the imports of one source."""

    outermost_loop: dict[int, Span]
    function: dict[int, Span]
    imports: list[str]

    def loop_span(self, line: int) -> Span:
        """Outermost loop around ``line``, or the line itself."""
        return self.outermost_loop.get(line, (line, line))

    def function_span(self, line: int) -> Span:
        """Innermost function around ``line``, or (0, 0)."""
        return self.function.get(line, (0, 0))

    def region_span(self, line: int) -> Span:
        """The block Scalene's viewer folds ``line`` into: its loop, else its function."""
        if line in self.outermost_loop:
            return self.outermost_loop[line]
        return self.function.get(line, (line, line))


def analyse(text: str) -> SourceFacts:
    """Parse ``text``; unparsable sources (magics, other languages) get no spans."""
    facts = SourceFacts({}, {}, [])
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return facts
    _walk(tree, facts, None)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            segment = ast.get_source_segment(text, node)
            if segment:
                facts.imports.append(segment)
    return facts


def _span(node: ast.AST) -> Span:
    start = getattr(node, "lineno", 1)
    return start, getattr(node, "end_lineno", None) or start


def _walk(node: ast.AST, facts: SourceFacts, loop: Span | None) -> None:
    for child in ast.iter_child_nodes(node):
        child_loop = loop
        if isinstance(child, _FUNCTIONS):
            start, end = _span(child)
            for line in range(start, end + 1):
                facts.function[line] = (start, end)  # inner functions overwrite outer
            child_loop = None  # a loop around a def does not fold the def's body
        elif isinstance(child, _LOOPS) and loop is None:
            child_loop = _span(child)
            for line in range(child_loop[0], child_loop[1] + 1):
                facts.outermost_loop.setdefault(line, child_loop)
        _walk(child, facts, child_loop)
