"""Detectors: each turns a topic's recent signal into "is something wrong right now?".

``negative_spike`` keeps per-topic state between evaluation passes; the others look at a window
of mentions each pass.
"""
