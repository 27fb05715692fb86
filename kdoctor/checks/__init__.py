"""The checks kdoctor runs, one module each (installed as ``kdoctor.checks``)."""
