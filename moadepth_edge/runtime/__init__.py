"""Frames to depth on a device: backends, sources, pipeline, sinks. Imports no torch."""
