"""Torch-free formats that cross the border between the parts: the ModelArtifact an exported
model carries, the engine-file header and its compatibility rules, version parsing, and the
target profiles (TOML shipped as package data). Everything here imports only the standard
library, numpy and the package's base modules (config, errors, outputs)."""
