"""``python -m kdoctor``."""

from kdoctor.cli import main

main()
