"""Presentation: terminal tables, report formats, charts, explanations and drawings; it formats,
never computes costs."""
