"""Export: fused ONNX (FP32 / FP16 / INT8 Q/DQ), target profiles, Triton repositories.

Torch-based parts (fusion, tracing) are imported lazily by their functions.
"""
from .onnx import export_onnx
from .parity import ParityError, relative_error

__all__ = ["ParityError", "export_onnx", "relative_error"]
