"""The analysis floor: an architecture to a ``Report`` (``report``, pure), the receptive field,
the roofline, summaries, design variants (width, input, conversions, sweeps) and the calibration
fit. No printing and no file formats here."""
