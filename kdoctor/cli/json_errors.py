"""Usage errors as a JSON document when ``--json`` was asked for.

A script that runs ``kdoctor ... --json`` reads stdout; a usage error (an unknown option, a bad
value, an unknown command) would print only to stderr. Under ``--json`` it also prints the
error document (``schema/error.schema.json``) on stdout, then exits 2 as before, with the usual
message on stderr.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from kdoctor.model.report import EXIT_USAGE

#: the usage-error class of the click typer runs on (typer >= 0.20 carries its own copy)
UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)

_JSON = "kdoctor.json"


def print_usage_error(message: str) -> None:
    """The JSON error document on stdout."""
    from kdoctor.render import jsonout

    jsonout.dump_json(jsonout.error_json(message, kind="usage", exit_code=EXIT_USAGE))


class JsonErrorsGroup(TyperGroup):
    """The command group: remembers whether ``--json`` is among the arguments, and turns a
    usage error of a command into the JSON error document as well."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[_JSON] = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
        rest: list[str] = super().parse_args(ctx, args)
        return rest

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            if ctx.meta.get(_JSON):
                print_usage_error(str(exc.format_message()))  # type: ignore[attr-defined]
            raise
