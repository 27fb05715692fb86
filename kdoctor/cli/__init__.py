"""The command line: parses, asks and renders; everything else lives below it."""

from kdoctor.cli.app import app, main

__all__ = ["app", "main"]
