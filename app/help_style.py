"""How kerastune's `--help` shows commands and options, where Typer's rich help would mislead:

- a help text is shown as written: Typer reads help as Rich markup, which takes `[mlflow]` in
  `pip install 'kerastune[mlflow]'` for a style tag and drops it (`literal`);
- a flag has no type beside it: Typer writes `<bool>` for `--overwrite`, which takes no value;
- a required argument is written as click writes it, `HYPERMODEL`, not `{HYPERMODEL}`.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from typer.core import TyperCommand, TyperGroup, TyperOption


def literal(text: str) -> str:
    """`text` as a help text that shows as written (square brackets included)."""
    return escape(text)


def _without_flag_types(params: list[Any]) -> list[Any]:
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class KerastuneCommand(TyperCommand):
    """A command whose help shows its flags without a type, and its arguments as click writes them."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_types(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [piece.removeprefix("{").removesuffix("}") for piece in super().collect_usage_pieces(ctx)]


class PlainHelpGroup(TyperGroup):
    """A group whose own help shows its flags without a type."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_types(super().get_params(ctx))
