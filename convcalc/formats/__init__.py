"""Readers and writers of other formats: each turns its format into convcalc's graph or back.

Only these modules import a format library (onnx), and only when they are used.
"""
