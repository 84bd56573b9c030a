"""moadepth-edge: MoA-DepthCLIP monocular depth from training to an edge GPU."""
__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "DepthEstimator":  # lazy: `import moadepth_edge` stays free of OpenCV and ORT
        from .runtime.estimator import DepthEstimator

        return DepthEstimator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
