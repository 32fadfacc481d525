"""MkDocs hook: the CLI reference (docs/cli.md), generated from the Typer app so that it cannot drift from the code.

It walks the app's click commands (`typer.main.get_command(app)`) and renders every command, argument and option
(flags, metavar, help, default) as Markdown in place of PLACEHOLDER in docs/cli.md. Registered in mkdocs.yml
under `hooks:`. Help texts are rendered literally: square brackets (`pip install 'kerastune[mlflow]'`), angle
brackets and Markdown characters are escaped; `backticks` stay code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

PAGE = "cli.md"  # the page, relative to docs/, that holds the placeholder
PLACEHOLDER = "<!-- cli-reference -->"


def load_app() -> Any:
    """The Typer app whose commands the reference describes."""
    # The one line that names the module of the CLI: change it (and only it) when the CLI moves.
    from kerastune.app.cli import app

    return app


def on_config(config: Any) -> Any:
    """Make the repository root importable, so that the app imports from the checkout being documented."""
    root = str(Path(config["config_file_path"]).resolve().parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    return config


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if PLACEHOLDER not in markdown:
        from mkdocs.exceptions import PluginError

        raise PluginError(f"docs/{PAGE} has lost its placeholder {PLACEHOLDER}: the CLI reference goes there")
    return markdown.replace(PLACEHOLDER, render(load_app()))


# --- Rendering ------------------------------------------------------------------------------------------------

def render(app: Any) -> str:
    """The whole reference: the program, then each of its commands in the order `--help` lists them."""
    import typer.main

    group = typer.main.get_command(app)
    prog = group.name or "kerastune"
    root = _context(group, prog, None)
    lines = [f"## `{prog}`", "", *_paragraphs(group.help), "", f"Usage: `{prog} [OPTIONS] COMMAND [ARGS]...`", ""]
    commands = [(name, command) for name, command in _commands(group, root) if not getattr(command, "hidden", False)]
    lines += ["Commands:", ""]
    lines += [f"- [`{prog} {name}`](#{_slug(prog, name)}): {escape(_first_line(command))}"
              for name, command in commands]
    lines += ["", *_parameters(group, root)]
    for name, command in commands:
        lines += _command(prog, name, command, root)
    return "\n".join(lines).rstrip() + "\n"


def _command(prog: str, name: str, command: Any, parent: Any) -> list[str]:
    ctx = _context(command, name, parent)
    arguments = [p for p in command.get_params(ctx) if p.param_type_name == "argument"]
    usage = " ".join([prog, name, "[OPTIONS]", *(_argument_usage(p) for p in arguments)])
    lines = ["", f"## `{prog} {name}`", ""]
    text, examples = _split_examples(command.help or "")
    lines += [*_paragraphs(text), "", f"Usage: `{usage}`", ""]
    for example in examples:
        lines += ["Example:", "", "```sh", example, "```", ""]
    return lines + _parameters(command, ctx)


def _parameters(command: Any, ctx: Any) -> list[str]:
    """The arguments, then the options by their --help panel (options without a panel first)."""
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    lines: list[str] = []
    arguments = [p for p in params if p.param_type_name == "argument"]
    if arguments:
        lines += ["### Arguments", ""]
        lines += [_argument(p, ctx) for p in arguments] + [""]
    panels: dict[str, list[Any]] = {}
    for param in params:
        if param.param_type_name == "option":
            panels.setdefault(getattr(param, "rich_help_panel", None) or "Options", []).append(param)
    if "Options" in panels:
        panels = {"Options": panels.pop("Options"), **panels}
    for panel, options in panels.items():
        lines += [f"### {escape(panel)}" if command.name else f"**{escape(panel)}**", ""]
        lines += [_option(p, ctx) for p in options] + [""]
    return lines


def _argument(param: Any, ctx: Any) -> str:
    name = param.metavar or param.name.upper()
    notes = ["Required." if param.required else "Optional."]
    default = _default(param)
    if default is not None:
        notes.append(f"Default: `{default}`.")
    return f"- **`{name}`**: {escape(param.help or '')} {' '.join(notes)}".rstrip()


def _option(param: Any, ctx: Any) -> str:
    """`- **`--name METAVAR`** / **`--no-name`**: help. Default: ...`"""
    value = "" if getattr(param, "is_flag", False) or getattr(param, "count", False) else _metavar(param, ctx)
    spellings = [", ".join(param.opts) + (f" {value}" if value else "")]
    spellings += [", ".join(param.secondary_opts)] if param.secondary_opts else []
    head = " / ".join(f"**`{spelling}`**" for spelling in spellings)
    help_text = escape(param.help or "")
    notes = []
    if getattr(param, "multiple", False):
        notes.append("Repeatable.")
    default = _default(param)
    if default is not None and "default" not in (param.help or "").lower():
        notes.append(f"Default: `{default}`.")
    if param.required:
        notes.append("Required.")
    return f"- {head}: {' '.join([help_text, *notes]).strip()}"


def _metavar(param: Any, ctx: Any) -> str:
    """What the option takes, as --help names it: its metavar, else its type (`<int>`, `<median|asha|off>`)."""
    if param.metavar:
        return param.metavar
    for method in ("display_type_rich", "make_metavar"):
        function = getattr(param, method, None)
        if function is None:
            continue
        for args in (((), {"ctx": ctx}), ((ctx,), {}), ((), {})):
            try:
                shown = function(*args[0], **args[1])
            except TypeError:
                continue
            if shown:
                return str(shown)
    return "VALUE"


def _default(param: Any) -> str | None:
    """The default to state, or None: a flag's when it is on, a value's when it has one."""
    default = param.default
    if callable(default) or default is None or param.name == "help":
        return None
    if getattr(param, "is_flag", False):
        if param.secondary_opts:
            return param.opts[0] if default else param.secondary_opts[0]
        return None if not default else param.opts[0]
    if isinstance(default, (list, tuple)):
        return " ".join(str(_plain(item)) for item in default) or None
    return str(_plain(default))


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)  # an Enum's value, as typed on the command line


def _argument_usage(param: Any) -> str:
    name = param.metavar or param.name.upper()
    name = name.strip("{}[]")
    return name if param.required else f"[{name}]"


def _commands(group: Any, ctx: Any) -> list[tuple[str, Any]]:
    names = group.list_commands(ctx) if hasattr(group, "list_commands") else list(group.commands)
    return [(name, group.get_command(ctx, name)) for name in names]


def _context(command: Any, name: str, parent: Any) -> Any:
    """A click context for `command`, from the click the command's class comes from (Typer may vendor its own)."""
    return command.context_class(command, info_name=name, parent=parent)


def _first_line(command: Any) -> str:
    text = command.short_help or command.help or ""
    return text.strip().split("\n\n")[0].replace("\n", " ")


def _split_examples(text: str) -> tuple[str, list[str]]:
    """The help without its `Example: kerastune ...` sentences, and those examples."""
    examples = re.findall(r"Example: (kerastune .+?)\s*$", text, flags=re.MULTILINE)
    text = re.sub(r"\s*Example: kerastune .+?\s*$", "", text, flags=re.MULTILINE)
    return text, examples


def _paragraphs(text: str | None) -> list[str]:
    paragraphs = [" ".join(part.split()) for part in (text or "").strip().split("\n\n")]
    lines: list[str] = []
    for paragraph in paragraphs:
        if paragraph:
            lines += [escape(paragraph), ""]
    return lines[:-1]


def _slug(prog: str, name: str) -> str:
    return f"{prog}-{name}".lower()


_MARKDOWN = re.compile(r"([\\*_\[\]#{}!])")


def escape(text: str) -> str:
    """Help text as literal Markdown: the text `--help` shows (help is Rich markup, kerastune.app.help_style), with
    `code` kept as code; elsewhere Markdown's characters are escaped and < > & are HTML entities, so that
    `kerastune[mlflow]` or `<int>` show as written."""
    from rich.text import Text

    text = Text.from_markup(text).plain
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unmatched backtick: no code span, the backtick shown as it is
        return _literal(text).replace("`", "\\`")
    return "".join(f"`{part}`" if index % 2 else _literal(part) for index, part in enumerate(parts))


def _literal(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", text)
