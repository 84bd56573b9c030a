"""Where the camera stands in a furnished room: held like a hand-held or robot camera.

1.0-1.7 m high, pitched -25..+10 degrees (negative: down), rolled +-5 degrees; mostly 0.3-1.5 m
from a wall looking across the room, a quarter anywhere looking anywhere. Views whose median
depth is under 1.5 m (a wall or a cupboard filling the frame) are mostly drawn again, so the
depth statistics resemble NYU's (frame medians about 1.5-4.5 m) while close views remain.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .pinhole import Camera, camera_rays
from .room_render import intersect
from .rooms import Room
from .scene import Box

PROBE = (6, 8)  # rays probed per candidate view
CLOSE = 1.5  # metres: a view with a median depth below this is kept with probability KEEP_CLOSE
KEEP_CLOSE = 0.15


def _inside(point: np.ndarray, box: Box, margin: float) -> bool:
    c, s = np.cos(box.yaw), np.sin(box.yaw)
    d = point - np.asarray(box.center)
    local = np.array([c * d[0] - s * d[2], d[1], s * d[0] + c * d[2]])
    return bool(np.all(np.abs(local) < np.asarray(box.half) + margin))


def _draw(room: Room, rng: np.random.Generator) -> Camera:
    w, _, d = room.size
    if rng.random() < 0.75:
        wall = int(rng.integers(4))
        off, t = rng.uniform(0.3, 1.5), rng.uniform(0.25, 0.75)
        x, z = [(t * w, off), (w - off, t * d), (t * w, d - off), (off, t * d)][wall]
        yaw = (0.0, -np.pi / 2, np.pi, np.pi / 2)[wall] + rng.uniform(-0.8, 0.8)
    else:
        x, z, yaw = rng.uniform(0.3, w - 0.3), rng.uniform(0.3, d - 0.3), rng.uniform(-np.pi, np.pi)
    pos = (float(np.clip(x, 0.25, w - 0.25)), float(rng.uniform(1.0, 1.7)), float(np.clip(z, 0.25, d - 0.25)))
    return Camera(pos, float(yaw), float(np.deg2rad(rng.uniform(-25, 10))), float(np.deg2rad(rng.uniform(-5, 5))))


def room_camera(room: Room, rng: np.random.Generator, tries: int = 30) -> tuple[Camera, Room]:
    """A viewpoint in `room`, and the room without any piece the camera would stand in."""
    for attempt in range(tries + 1):
        camera = _draw(room, rng)
        pos = np.asarray(camera.position)
        blocked = [p for p in room.pieces if _inside(pos, p.bound, 0.2)]
        keep = tuple(p for p in room.pieces if p not in blocked)
        if attempt == tries:
            break
        if blocked:
            continue
        t = intersect(room, pos.astype(np.float32), camera_rays(camera, PROBE))[0]
        if np.median(t) >= CLOSE or rng.random() < KEEP_CLOSE:
            break
    return camera, replace(room, pieces=keep)


def room_walk(room: Room, n_frames: int, rng: np.random.Generator) -> tuple[list[Camera], Room]:
    """A smooth hand-held walk for a clip: from a `room_camera` viewpoint, a slow step forward
    with a pan across the room and a gentle bob; the room without any piece the walk would
    pass through."""
    start, room = room_camera(room, rng)
    w, _, d = room.size
    x0, y0, z0 = start.position
    s = np.linspace(0.0, 1.0, max(n_frames, 1))
    phase = rng.uniform(0, 2 * np.pi)
    step = rng.uniform(0.3, 0.8) * 0.5 * (1 - np.cos(np.pi * s))  # metres walked, eased in and out
    x = np.clip(x0 + step * np.sin(start.yaw), 0.25, w - 0.25)
    z = np.clip(z0 + step * np.cos(start.yaw), 0.25, d - 0.25)
    y = y0 + 0.03 * np.sin(6 * np.pi * s)
    yaw = start.yaw + 0.35 * np.sin(2 * np.pi * s + phase)
    pitch = start.pitch + 0.06 * np.sin(4 * np.pi * s)
    cameras = [Camera((float(a), float(b), float(c)), float(e), float(f), start.roll)
               for a, b, c, e, f in zip(x, y, z, yaw, pitch)]
    points = [np.asarray(c.position) for c in cameras]
    keep = tuple(p for p in room.pieces if not any(_inside(q, p.bound, 0.2) for q in points))
    return cameras, replace(room, pieces=keep)
