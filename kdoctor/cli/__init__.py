"""The command line: parses, asks and renders; everything else lives below it (the commands
are in ``app``)."""
