"""moadepth-edge: MoA-DepthCLIP monocular depth from training to an edge GPU."""
__version__ = "0.1.0"
