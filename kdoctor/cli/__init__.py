"""The command line: parses, asks and renders; everything else lives below it."""
