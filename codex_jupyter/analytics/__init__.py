"""Pure computation on arrays and frames: no I/O, no widgets; usable from a plain script."""
