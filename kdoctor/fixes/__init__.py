"""The fixes kdoctor plans and applies, one module each (installed as ``kdoctor.fixes``)."""
