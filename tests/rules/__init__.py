"""Per-rule cases as data (`cases/<CODE>_<name>.yml`) and the builder of their event logs."""
