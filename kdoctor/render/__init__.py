"""All rendering lives here: ``text`` (the only module that knows Rich) and ``jsonout``, both
from the same result objects. Split so that ``--json`` never pays for importing Rich."""
