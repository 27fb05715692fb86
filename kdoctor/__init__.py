"""kdoctor."""
