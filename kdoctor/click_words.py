"""Click's and typer's own words in kdoctor's catalogs: the usage line, the parser's errors,
the help of the options typer adds (completion, help), the ``Error:`` and ``Try ... for help``
lines.

Typer 0.26 and later carry their own copy of click, which writes its messages as plain English
f-strings; older typers run on click itself, which marks them for gettext's global domain. Both
end with the same English sentences, so kdoctor translates the sentence click made: each
``MESSAGES`` entry is an English sentence with ``{fields}`` for its values, matched against
what click says and rewritten with the active catalog's translation (a ``{message}`` field
holds a sentence of its own, translated the same way). Installed by ``kdoctor.i18n`` when a
language other than English is activated; the wrappers ask the active catalogs each time, so
English comes back with it.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from typing import Any, Callable, Optional


def N_(message: str) -> str:
    """Marks ``message`` for the catalogs (as ``kdoctor.i18n.N_``, which imports this module)."""
    return message


#: the active catalogs' gettext (``kdoctor.i18n._``, handed over by ``install``)
_translators: list[Callable[[str], str]] = []


def _(message: str) -> str:
    return _translators[0](message) if _translators else message


#: click's words, as it writes them
USAGE = N_("Usage: ")
HELP_OPTION = N_("Show this message and exit.")
#: the usage line's placeholders (``kdoctor [OPTIONS] COMMAND [ARGS]...``)
USAGE_PIECES = (N_("[OPTIONS]"), N_("COMMAND [ARGS]..."))

#: the headings of click's plain help (typer's Rich panels are ``kdoctor.i18n.TYPER_WORDS``)
SECTIONS = (N_("Commands"), N_("Options"), N_("Arguments"))

#: the help of the options typer adds to every program
OPTION_HELPS = (
    N_("Install completion for the current shell."),
    N_("Show completion for the current shell, to copy it or customize the installation."),
    N_("Install completion for the specified shell."),
    N_("Show completion for the specified shell, to copy it or customize the installation."),
)

#: the sentences click and typer end with (a space matches any run of white space)
MESSAGES = (
    N_("Error: {message}"),
    N_("Try '{command}' for help."),
    N_("No such option: {name}"),
    N_("{message} (Possible options: {options})"),
    N_("{message} Did you mean {possibility}?"),
    N_("{message}. Did you mean {suggestions}?"),
    N_("No such command {name}."),
    N_("No such command {name}"),
    N_("Missing command."),
    N_("Invalid value: {message}"),
    N_("Invalid value for {hint}: {message}"),
    N_("Missing argument {hint}."),
    N_("Missing option {hint}."),
    N_("Missing parameter {hint}."),
    N_("Missing parameter: {name}"),
    N_("Got unexpected extra argument ({args})"),
    N_("Got unexpected extra arguments ({args})"),
    N_("Got unexpected extra argument(s) ({args})"),
    N_("Option {name} requires an argument."),
    N_("Option {name} requires {count} arguments."),
    N_("Option {name} does not take a value."),
    N_("Argument {name} takes {count} values."),
    N_("{value} is not one of {choices}."),
    N_("{value} is not {choice}."),
    N_("{value} is not a valid integer."),
    N_("{value} is not a valid float."),
    N_("{value} is not a valid boolean."),
    N_("{value} is not a valid boolean. Recognized values: {values}"),
    N_("{value} is not in the range {range}."),
    N_("Aborted!"),
)


def _pattern(message: str) -> re.Pattern[str]:
    parts: list[str] = []
    for literal, field, _spec, _conversion in string.Formatter().parse(message):
        parts.append(r"\s+".join(re.escape(word) for word in literal.split(" ")))
        if field is not None:
            parts.append(f"(?P<{field}>.+?)")
    return re.compile("".join(p for p in parts if p), re.DOTALL)


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, int, re.Pattern[str]], ...]:
    """Each message with the length of its own words and its pattern."""

    def own(message: str) -> int:
        return sum(len(literal) for literal, *_rest in string.Formatter().parse(message))

    return tuple((message, own(message), _pattern(message)) for message in MESSAGES)


def _match(text: str) -> Optional[tuple[str, dict[str, str]]]:
    """The message ``text`` is, and its values: of the messages that match, the one whose
    values (a ``{message}`` aside, itself a sentence) are the shortest, then the one with the
    most words of its own (``Invalid value for {hint}: {message}`` rather than ``{value} is
    not a valid float.`` for ``Invalid value for '--timeout': 'x' is not a valid float.``)."""
    best: Optional[tuple[int, int, str, dict[str, str]]] = None
    for message, own, pattern in _patterns():
        found = pattern.fullmatch(text)
        if found is None:
            continue
        values = found.groupdict()
        loose = sum(len(v) for k, v in values.items() if k != "message")
        if best is None or (loose, -own) < best[:2]:
            best = (loose, -own, message, values)
    return None if best is None else (best[2], best[3])


def translate(text: str) -> str:
    """What click said, in the active language (unchanged when it is no sentence of click's)."""
    if not text or not _translators:
        return text
    matched = _match(text)
    if matched is None:
        return text
    message, values = matched
    said = _(message)
    if "message" in values:
        values["message"] = translate(values["message"])
    elif said == message:  # English, or no translation: as click said it
        return text
    return said.format(**values)


def _usage_args(args: str) -> str:
    for piece in USAGE_PIECES:
        args = args.replace(piece, _(piece))
    return args


def install(core: Any, formatting: Any, exceptions: Any, gettext: Callable[[str], str]) -> None:
    """Wrap click's (``core``, ``formatting``, ``exceptions`` modules) words once, to speak
    through ``gettext`` (``kdoctor.i18n._``)."""
    _translators[:] = [gettext]
    if getattr(formatting.HelpFormatter.write_usage, "kdoctor_translated", False):
        return
    write_usage = formatting.HelpFormatter.write_usage
    section = formatting.HelpFormatter.section
    get_help_option = core.Command.get_help_option
    get_params = core.Command.get_params

    def translated_usage(
        self: Any, prog: str, args: str = "", prefix: Optional[str] = None
    ) -> None:
        write_usage(self, prog, _usage_args(args), _(USAGE) if prefix is None else prefix)

    def translated_section(self: Any, name: str) -> Any:
        return section(self, _(name) if name in SECTIONS else name)

    def translated_help_option(self: Any, ctx: Any) -> Any:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = _(HELP_OPTION)
        return option

    def translated_params(self: Any, ctx: Any) -> Any:
        params = get_params(self, ctx)
        for param in params:
            if getattr(param, "help", None) in OPTION_HELPS:
                param.help = _(param.help)
        return params

    translated_usage.kdoctor_translated = True  # type: ignore[attr-defined]
    formatting.HelpFormatter.write_usage = translated_usage
    formatting.HelpFormatter.section = translated_section
    core.Command.get_help_option = translated_help_option
    core.Command.get_params = translated_params
    for name in dir(exceptions):
        cls = getattr(exceptions, name)
        # click's base class too when a base of its own (typer's) says the message
        if (
            isinstance(cls, type)
            and issubclass(cls, exceptions.ClickException)
            and ("format_message" in vars(cls) or cls is exceptions.ClickException)
        ):
            target: Any = cls
            target.format_message = _translated(target.format_message)
    exceptions.ClickException.show = _show_error
    exceptions.UsageError.show = _show_usage_error


def _translated(format_message: Callable[[Any], str]) -> Callable[[Any], str]:
    def translated(self: Any) -> str:
        return translate(format_message(self))

    return translated


def _show_error(self: Any, file: Any = None) -> None:
    """``Error: ...`` on stderr, in the active language."""
    import typer

    typer.echo(_(MESSAGES[0]).format(message=self.format_message()), err=file is None, file=file)


def _show_usage_error(self: Any, file: Any = None) -> None:
    """The usage line, how to get help, then ``Error: ...`` (click's plain error)."""
    import typer

    ctx = self.ctx
    if ctx is not None:
        lines = [ctx.get_usage()]
        if ctx.command.get_help_option(ctx) is not None:
            command = f"{ctx.command_path} {ctx.help_option_names[0]}"
            lines.append(_(MESSAGES[1]).format(command=command) + "\n")
        typer.echo("\n".join(lines), err=file is None, file=file, color=ctx.color)
    _show_error(self, file)
