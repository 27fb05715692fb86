"""Where each check is documented: a section of the README per check id.

kdoctor has no published home page (``pyproject.toml`` names none), so a link is relative to
kdoctor's source tree, ``README.md#check-<id>``: it works on any forge that renders the
repository's README and in a checkout. The heading of each section is ``Check `<id>``` in the
README's "Checks reference"; its anchor follows GitHub's rules (lowercase, punctuation dropped,
spaces as ``-``), which ``tests/test_docs_links.py`` holds every registered check to.
"""

from __future__ import annotations

#: the document every link points into (relative to kdoctor's source tree); the one place to
#: change should kdoctor get a published home
README = "README.md"


def check_anchor(check_id: str) -> str:
    """The anchor of ``check_id``'s section: its heading ``Check `<id>``` as GitHub makes it."""
    return f"check-{check_id}"


def check_docs(check_id: str) -> str:
    """The link to ``check_id``'s section of the README (``README.md#check-<id>``)."""
    return f"{README}#{check_anchor(check_id)}"
