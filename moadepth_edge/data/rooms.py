"""Furnished rooms: homes, offices and basements laid out like real ones.

A `Room` is an axis-aligned box seen from inside holding pieces of furniture (tables and desks,
chairs, beds, shelves, wardrobes, sofas, doors, windows, pictures, clutter, poles, ducts), each
built from boxes and cylinders, lit by ceiling lights and a window (room_render.py shades it).
Sizes follow real rooms (2.8-6.5 m wide, 3-7.5 m deep, 2.4-3.1 m high) and the camera is held
as room_view.py places it. World axes as in pinhole.py; everything is deterministic from a seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scene import CARPET, CHECKER, PLAIN, PLANKS, STRIPES, TILES, WOOD, Box, Cylinder, Material


@dataclass(frozen=True)
class Piece:
    """One piece of furniture: its parts, and a box around them that rays test first."""

    bound: Box
    parts: tuple  # of Box | Cylinder
    emissive: bool = False  # a window: it shines rather than reflects
    on_floor: bool = True  # darkens the floor around it (contact occlusion)


@dataclass(frozen=True)
class Light:
    position: tuple[float, float, float]
    color: tuple[float, float, float]  # intensity per channel at 1 m


@dataclass(frozen=True)
class Room:
    size: tuple[float, float, float]  # width (x), height (y), depth (z), metres
    walls: tuple[Material, Material, Material]  # walls, floor, ceiling
    pieces: tuple[Piece, ...]
    lights: tuple[Light, ...]
    ambient: tuple[float, float, float]
    noise: np.ndarray  # 64x64 value-noise tile for surface grain
    camera_light: float = 0.0  # a light at the camera (a flash); 0 for most rooms
    haze: float = 0.0  # aerial perspective per metre; 0 for most rooms


def _tint(rng: np.random.Generator, base: float, spread: float = 0.12) -> tuple[float, float, float]:
    return tuple(float(c) for c in np.clip(base + rng.uniform(-spread, spread, 3), 0.03, 1.0))


def _color(rng: np.random.Generator, lo: float, hi: float) -> tuple[float, float, float]:
    """A surface colour: mostly greys, beiges and browns, sometimes a saturated hue."""
    hue = rng.uniform(0, 2 * np.pi)
    chroma = rng.uniform(0.0, 0.4) if rng.random() < 0.2 else rng.uniform(0.0, 0.15)
    rgb = rng.uniform(lo, hi) * (1 + chroma * np.cos(hue - np.array([0, 2.1, 4.2])))
    return tuple(float(c) for c in np.clip(rgb, 0.02, 1.0))


def _mat(rng: np.random.Generator, kinds: tuple[int, ...], lo: float = 0.06, hi: float = 0.9,
         scale: tuple[float, float] = (0.1, 0.5)) -> Material:
    a = _color(rng, lo, hi)
    b = tuple(float(c) for c in np.clip(np.array(a) * rng.uniform(0.45, 0.85), 0, 1))
    return Material(a, b, int(rng.choice(kinds)), float(rng.uniform(*scale)))


class _Builder:
    """Places pieces given in a local frame (x across, y up, z towards the wall behind)."""

    def __init__(self, rng: np.random.Generator, size: tuple[float, float, float]) -> None:
        self.rng, self.size, self.pieces = rng, size, []

    def add(self, parts: list[tuple], center: tuple[float, float], yaw: float, *, lift: float = 0.0,
            emissive: bool = False) -> None:
        """parts: (kind, local centre (x, y, z), half sizes or (radius, height), material)."""
        c, s = np.cos(yaw), np.sin(yaw)
        out, lo, hi = [], np.full(3, np.inf), np.full(3, -np.inf)
        for kind, (lx, ly, lz), dims, mat in parts:
            wx, wz = center[0] + c * lx + s * lz, center[1] - s * lx + c * lz
            if kind == "box":
                out.append(Box((wx, ly + lift, wz), tuple(dims), yaw, mat))
                half = np.array(dims)
            else:  # vertical cylinder standing at ly: dims (radius, height)
                out.append(Cylinder((wx, wz), dims[0], ly + lift + dims[1], mat))
                half = np.array([dims[0], (ly + lift + dims[1]) / 2, dims[0]])
                ly = (ly + lift + dims[1]) / 2 - lift
            lo = np.minimum(lo, np.array([lx, ly, lz]) - half)
            hi = np.maximum(hi, np.array([lx, ly, lz]) + half)
        mid, half = (lo + hi) / 2 + 0.01, (hi - lo) / 2 + 0.02
        wx, wz = center[0] + c * mid[0] + s * mid[2], center[1] - s * mid[0] + c * mid[2]
        bound = Box((wx, mid[1] + lift, wz), tuple(half), yaw, out[0].material)
        self.pieces.append(Piece(bound, tuple(out), emissive, lift < 0.05 and not emissive))

    def against_wall(self, width: float, depth: float, gap: float = 0.02) -> tuple[tuple[float, float], float]:
        """A centre and yaw that put a width x depth footprint's back against a random wall."""
        w, _, d = self.size
        wall = int(self.rng.integers(4))
        along = (w, d, w, d)[wall]
        t = float(self.rng.uniform(min(width / 2, along / 2), max(along - width / 2, along / 2)))
        inset = depth / 2 + gap
        return [((t, d - inset), 0.0), ((w - inset, t), np.pi / 2),
                ((t, inset), np.pi), ((inset, t), -np.pi / 2)][wall]

    def anywhere(self, margin: float = 0.4) -> tuple[tuple[float, float], float]:
        w, _, d = self.size
        return ((float(self.rng.uniform(margin, w - margin)), float(self.rng.uniform(margin, d - margin))),
                float(self.rng.uniform(-np.pi, np.pi)))


def _legs(w: float, d: float, h: float, r: float, mat: Material) -> list[tuple]:
    return [("box", (sx * (w - r), h / 2, sz * (d - r)), (r, h / 2, r), mat) for sx in (-1, 1) for sz in (-1, 1)]


def _table(b: _Builder, wood: Material) -> None:
    rng = b.rng
    w, d, h = rng.uniform(0.4, 0.9), rng.uniform(0.3, 0.5), rng.uniform(0.68, 0.78)
    centre, yaw = b.anywhere(0.8) if rng.random() < 0.6 else b.against_wall(2 * w, 2 * d)
    b.add([("box", (0, h - 0.02, 0), (w, 0.02, d), wood), *_legs(w, d, h - 0.04, 0.025, wood)], centre, yaw)
    for k in range(int(rng.integers(0, 4))):  # chairs around it
        side = (-1, 1)[k % 2]
        cz = side * (d + 0.25)
        seat = _mat(rng, (PLAIN, WOOD))
        chair = [("box", (0, 0.44, 0), (0.22, 0.025, 0.22), seat), *_legs(0.22, 0.22, 0.42, 0.02, seat),
                 ("box", (0, 0.7, side * 0.21), (0.22, 0.22, 0.02), seat)]
        off = rng.uniform(-w + 0.2, w - 0.2)
        cc, ss = np.cos(yaw), np.sin(yaw)
        b.add(chair, (centre[0] + cc * off + ss * cz, centre[1] - ss * off + cc * cz), yaw + rng.uniform(-0.3, 0.3))
    for _ in range(int(rng.integers(0, 3))):  # things on the table
        s = rng.uniform(0.04, 0.15, 3)
        b.add([("box", (rng.uniform(-w + s[0], w - s[0]), h + s[1], rng.uniform(-d + s[2], d - s[2])), tuple(s),
                _mat(rng, (PLAIN, STRIPES)))], centre, yaw)


def _bed(b: _Builder, wood: Material) -> None:
    rng = b.rng
    w, d = rng.uniform(0.45, 0.9), rng.uniform(0.95, 1.05)
    centre, yaw = b.against_wall(2 * w, 2 * d)
    b.add([("box", (0, 0.2, 0), (w, 0.2, d), wood),
           ("box", (0, 0.5, -0.02), (w - 0.03, 0.11, d - 0.04), _mat(rng, (PLAIN, STRIPES, CHECKER), 0.4, 0.95)),
           ("box", (0, 0.55, d - 0.03), (w, 0.55, 0.03), wood)], centre, yaw)


def _shelf(b: _Builder, wood: Material) -> None:
    rng = b.rng
    w, d, h = rng.uniform(0.3, 0.8), rng.uniform(0.15, 0.22), rng.uniform(0.8, 2.1)
    centre, yaw = b.against_wall(2 * w, 2 * d)
    n = int(rng.integers(2, 6))
    parts = [("box", (sx * (w - 0.015), h / 2, 0), (0.015, h / 2, d), wood) for sx in (-1, 1)]
    parts.append(("box", (0, h / 2, d - 0.01), (w, h / 2, 0.01), wood))
    for i in range(n + 1):
        y = 0.02 + i * (h - 0.04) / n
        parts.append(("box", (0, y, 0), (w, 0.015, d), wood))
        if i < n and rng.random() < 0.7:  # a row of books
            bh = rng.uniform(0.3, 0.9) * (h - 0.04) / n / 2
            parts.append(("box", (0, y + 0.015 + bh, 0.02), (w * rng.uniform(0.4, 0.95), bh, d * 0.8),
                          _mat(rng, (STRIPES,), 0.2, 0.9, (0.03, 0.08))))
    b.add(parts, centre, yaw)


def _cabinet(b: _Builder) -> None:
    """A wardrobe, chest, fridge, washing machine or filing cabinet: one box against a wall."""
    rng = b.rng
    w, d, h = rng.uniform(0.25, 0.6), rng.uniform(0.25, 0.33), rng.uniform(0.4, 1.05)
    centre, yaw = b.against_wall(2 * w, 2 * d)
    b.add([("box", (0, h, 0), (w, h, d), _mat(rng, (PLAIN, STRIPES, WOOD), 0.2, 0.95))], centre, yaw)


def _sofa(b: _Builder) -> None:
    rng = b.rng
    w, cloth = rng.uniform(0.7, 1.1), _mat(rng, (PLAIN, CARPET, CHECKER))
    centre, yaw = b.against_wall(2 * w, 0.9) if rng.random() < 0.7 else b.anywhere(1.0)
    b.add([("box", (0, 0.21, 0), (w, 0.21, 0.45), cloth), ("box", (0, 0.45, 0.35), (w, 0.45, 0.1), cloth),
           *[("box", (sx * (w - 0.1), 0.32, 0), (0.1, 0.32, 0.45), cloth) for sx in (-1, 1)]], centre, yaw)


def _on_wall(b: _Builder, kind: str) -> None:
    """A door (to the floor), a window (shines; room_render lights the room from it) or a
    picture / screen, flush on a wall."""
    rng = b.rng
    w, hh, lift, t = {"door": (0.42, 1.02, 0.0, 0.025), "window": (rng.uniform(0.4, 0.9), rng.uniform(0.45, 0.7),
                      rng.uniform(0.7, 1.0), 0.01), "picture": (rng.uniform(0.2, 0.6), rng.uniform(0.15, 0.4),
                      rng.uniform(1.0, 1.6), 0.015)}[kind]
    centre, yaw = b.against_wall(2 * w, 2 * t, gap=0.0)
    mat = (Material((0.95, 0.97, 1.0), (0.8, 0.85, 0.9), PLAIN, 1.0) if kind == "window"
           else _mat(rng, (PLAIN, WOOD, STRIPES), 0.1, 0.9))
    b.add([("box", (0, hh, 0), (w, hh, t), mat)], centre, yaw, lift=lift, emissive=kind == "window")


def _clutter(b: _Builder) -> None:
    """Boxes, bins and bags on the floor, anywhere (often near the camera)."""
    rng = b.rng
    centre, yaw = b.anywhere(0.3)
    mat = _mat(rng, (PLAIN, STRIPES, CHECKER, WOOD))
    if rng.random() < 0.6:
        s = (rng.uniform(0.1, 0.4), rng.uniform(0.08, 0.4), rng.uniform(0.1, 0.35))
        b.add([("box", (0, s[1], 0), s, mat)], centre, yaw)
    else:
        b.add([("cyl", (0, 0, 0), (rng.uniform(0.08, 0.3), rng.uniform(0.2, 0.9)), mat)], centre, yaw)


def _pole(b: _Builder) -> None:
    """A column, pipe or floor lamp: a thin vertical cylinder, sometimes floor to ceiling."""
    rng = b.rng
    centre, yaw = b.anywhere(0.3)
    height = b.size[1] if rng.random() < 0.6 else rng.uniform(1.2, 1.8)
    b.add([("cyl", (0, 0, 0), (rng.uniform(0.03, 0.15), height), _mat(rng, (PLAIN, STRIPES), 0.1, 0.8))],
          centre, yaw)


def _duct(b: _Builder) -> None:
    """A duct or beam under the ceiling, across the room."""
    rng = b.rng
    w, _, d = b.size
    half = rng.uniform(0.05, 0.2)
    y = b.size[1] - half - rng.uniform(0.0, 0.15)
    mat = _mat(rng, (PLAIN, STRIPES), 0.3, 0.9)
    if rng.random() < 0.5:
        b.add([("box", (0, y, 0), (w / 2, half, half), mat)], (w / 2, rng.uniform(0.5, d - 0.5)), 0.0)
    else:
        b.add([("box", (0, y, 0), (half, half, d / 2), mat)], (rng.uniform(0.5, w - 0.5), d / 2), 0.0)


def random_room(seed: int) -> Room:
    """A furnished room (a living room, bedroom, office, kitchen or basement mix) and its lights."""
    rng = np.random.default_rng([seed, 7])
    size = (float(rng.uniform(2.8, 6.5)), float(rng.uniform(2.4, 3.1)), float(rng.uniform(3.0, 7.5)))
    walls = (_mat(rng, (PLAIN, PLAIN, PLAIN, STRIPES, TILES), 0.35, 0.95, (0.1, 0.4)),
             _mat(rng, (PLANKS, PLANKS, TILES, CARPET, PLAIN, CHECKER), 0.15, 0.8, (0.12, 0.5)),
             _mat(rng, (PLAIN,), 0.6, 0.95))
    b = _Builder(rng, size)
    wood = _mat(rng, (WOOD, PLAIN, WOOD), 0.15, 0.7, (0.05, 0.2))
    counts = {_table: (0, 3), _bed: (0, 2), _shelf: (0, 4), _cabinet: (1, 6), _sofa: (0, 2)}
    for make, (lo, hi) in counts.items():
        for _ in range(int(rng.integers(lo, hi))):
            make(b, wood) if make in (_table, _bed, _shelf) else make(b)
    for kind, p in (("door", 0.6), ("window", 0.5), ("picture", 0.5), ("picture", 0.3)):
        if rng.random() < p:
            _on_wall(b, kind)
    for _ in range(int(rng.integers(1, 10))):
        _clutter(b)
    for _ in range(int(rng.integers(0, 3)) if rng.random() < 0.4 else 0):
        _pole(b)
    for _ in range(int(rng.integers(1, 3)) if rng.random() < 0.3 else 0):
        _duct(b)
    lights = [Light((float(rng.uniform(0.2, 0.8) * size[0]), size[1] - 0.05, float(rng.uniform(0.2, 0.8) * size[2])),
                    _tint(rng, rng.uniform(1.5, 4.0), 0.2)) for _ in range(int(rng.integers(1, 4)))]
    for piece in b.pieces:
        if piece.emissive:  # daylight through the window
            c, s = np.cos(piece.bound.yaw), np.sin(piece.bound.yaw)
            x, y, z = piece.bound.center
            lights.append(Light((x - 0.4 * s, y, z - 0.4 * c), _tint(rng, rng.uniform(1.0, 3.0), 0.1)))
    ambient = _tint(rng, rng.uniform(0.03, 0.15), 0.02)
    return Room(size, walls, tuple(b.pieces), tuple(lights), ambient, rng.random((64, 64)).astype(np.float32),
                float(rng.uniform(0, 0.4)) if rng.random() < 0.25 else 0.0,
                float(rng.uniform(0, 0.06)) if rng.random() < 0.25 else 0.0)
