"""The live view: `run ... --serve [HOST:]PORT` shows the newest frame | depth in a browser.

address (the --serve value, bound before the model loads), view (the newest result, encoded
once per frame for every viewer), server (the HTTP endpoints and viewer handling), page (the
HTML). Standard library only (http.server, threads) plus OpenCV for JPEG / PNG encoding.
"""
from .address import ServeAddress, parse_serve
from .server import ViewServer
from .view import LiveView, ServeSink

__all__ = ["LiveView", "ServeAddress", "ServeSink", "ViewServer", "parse_serve"]
