"""MoA-DepthCLIP and the DepthCLIP baseline (needs torch and open_clip: the `train` extra)."""
from .depth_model import DepthModel, DepthOutput
from .depthclip import DepthCLIP
from .factory import build_model, parameter_counts

__all__ = ["DepthModel", "DepthOutput", "DepthCLIP", "build_model", "parameter_counts"]
