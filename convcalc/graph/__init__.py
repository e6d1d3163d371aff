"""The graph floor: ``Shape`` (any rank), the layer kinds (``graph.layers``, one module per
family), the architecture graph of named tensors and the formulas of the YAML language (``expr``).
No files, formatting or numpy here."""
