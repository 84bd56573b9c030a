"""Ray casting and shading of furnished rooms (rooms.py), vectorised numpy plus OpenCV blurs.

Each piece's parts are tested only by the rays that reach its bounding box first. Shading:
ambient light times a cheap ambient occlusion (darker near the room's edges and on the floor
around furniture), ceiling and window lights with Lambertian falloff and shadows (one shadow
ray per pixel and light, softened by a blur in the image), windows that shine, and where a
room has them a weak light at the camera and a weak haze (randomised, so neither can stand in
for depth). Returns linear RGB; photo.py turns it into a camera's picture.
"""
from __future__ import annotations

import cv2
import numpy as np

from .pinhole import Camera, camera_rays, rotation
from .rooms import Room
from .sample import Intrinsics, nyu_intrinsics
from .scene import Box, _grain, _hit_box, _hit_cylinder, _hit_room, _surface_uv, albedo


def _hit(obj, o: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _hit_box(o, dirs, obj) if isinstance(obj, Box) else _hit_cylinder(o, dirs, obj)


def _enter(o: np.ndarray, dirs: np.ndarray, box: Box) -> np.ndarray:
    """Where rays (origins (3,) or (N, 3)) enter `box`: 0 from inside it, inf for misses."""
    c, s = np.cos(box.yaw), np.sin(box.yaw)
    rot = np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]], dtype=np.float32)  # world -> box
    lo_ = (o - np.asarray(box.center, np.float32)) @ rot.T
    ld = dirs @ rot.T
    half = np.asarray(box.half, np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.float32(1.0) / ld
        t1, t2 = (-half - lo_) * inv, (half - lo_) * inv
    t_near = np.fmax(np.fmax(np.fmin(t1[:, 0], t2[:, 0]), np.fmin(t1[:, 1], t2[:, 1])), np.fmin(t1[:, 2], t2[:, 2]))
    t_far = np.fmin(np.fmin(np.fmax(t1[:, 0], t2[:, 0]), np.fmax(t1[:, 1], t2[:, 1])), np.fmax(t1[:, 2], t2[:, 2]))
    return np.where((t_near <= t_far) & (t_far > 0), np.maximum(t_near, 0), np.inf)


def _corners(box: Box) -> np.ndarray:
    c, s = np.cos(box.yaw), np.sin(box.yaw)
    signs = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], np.float32)
    local = signs * np.asarray(box.half, np.float32)
    return np.asarray(box.center, np.float32) + local @ np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]], np.float32)


def _candidates(box: Box, camera: Camera, size: tuple[int, int], k: Intrinsics) -> np.ndarray | None:
    """Pixel indices whose rays may hit `box`: its projected corners' rectangle (None: all,
    where a corner lies behind the camera)."""
    cam = (_corners(box) - np.asarray(camera.position, np.float32)) @ rotation(camera.yaw, camera.pitch, camera.roll)
    if (cam[:, 2] < 0.05).any():
        return None
    u, v = k.fx * cam[:, 0] / cam[:, 2] + k.cx, k.fy * cam[:, 1] / cam[:, 2] + k.cy
    h, w = size
    x0, x1 = max(int(np.floor(u.min())) - 1, 0), min(int(np.ceil(u.max())) + 1, w)
    y0, y1 = max(int(np.floor(v.min())) - 1, 0), min(int(np.ceil(v.max())) + 1, h)
    if x0 >= x1 or y0 >= y1:
        return np.zeros(0, np.int64)
    return (np.arange(y0, y1)[:, None] * w + np.arange(x0, x1)[None, :]).ravel()


def intersect(room: Room, o: np.ndarray, dirs: np.ndarray, candidates=None):
    """Nearest hit: t (N,), normals (N, 3), material index (N,), the material list, and which
    material indices shine (windows). candidates(bound): ray indices to test, None for all."""
    t, normal, surface = _hit_room(o, dirs, room.size)
    material_id = surface.astype(np.int64)
    materials, shines = list(room.walls), [False, False, False]
    for piece in room.pieces:
        idx = None if candidates is None else candidates(piece.bound)
        if idx is None:
            idx = np.flatnonzero(_enter(o, dirs, piece.bound) < t)
        elif idx.size:
            idx = idx[_enter(o, dirs[idx], piece.bound) < t[idx]]
        for part in piece.parts:
            if idx.size:
                t_p, n_p = _hit(part, o, dirs[idx])
                closer = t_p < t[idx]
                sel = idx[closer]
                t[sel], normal[sel], material_id[sel] = t_p[closer], n_p[closer], len(materials)
            materials.append(part.material)
            shines.append(piece.emissive)
    return t, normal, material_id, materials, np.array(shines)


def occluded(room: Room, p: np.ndarray, dirs: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Whether each ray from p (N, 3) along dirs (N, 3) hits furniture before `dist` (N,)."""
    blocked = np.zeros(len(p), dtype=bool)
    for piece in room.pieces:
        if piece.emissive:
            continue
        idx = np.flatnonzero((_enter(p, dirs, piece.bound) < dist) & ~blocked)
        for part in piece.parts:
            if idx.size:
                t_p = _enter(p[idx], dirs[idx], part) if isinstance(part, Box) else _hit(part, p[idx], dirs[idx])[0]
                blocked[idx[t_p < dist[idx]]] = True
    return blocked


def _occlusion(room: Room, p: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Cheap ambient occlusion: darker near the room's edges and corners, and on the floor
    near furniture standing on it."""
    hi = np.asarray(room.size, np.float32)
    ao = np.ones(len(p), np.float32)
    for d in (*p.T, *(hi - p).T):
        d = np.where(d < 1e-3, np.inf, d)  # the plane the point lies on does not occlude it
        ao *= 1 - 0.45 * np.exp(-d / 0.25)
    floor = np.flatnonzero(normal[:, 1] > 0.9)
    for piece in room.pieces:
        if not piece.on_floor or not floor.size:
            continue
        b = piece.bound
        c, s = np.cos(b.yaw), np.sin(b.yaw)
        dx, dz = p[floor, 0] - b.center[0], p[floor, 2] - b.center[2]
        gap = np.maximum(np.abs(c * dx - s * dz) - b.half[0], np.abs(s * dx + c * dz) - b.half[2])
        lift = p[floor, 1]  # tops of pieces lie above the floor and are not darkened as much
        ao[floor] *= 1 - 0.5 * np.exp(-np.maximum(gap, 0) / 0.12) * np.exp(-lift / 0.2)
    return ao


def render_room(room: Room, camera: Camera, size: tuple[int, int],
                intrinsics: Intrinsics | None = None, soft: float = 0.015) -> tuple[np.ndarray, np.ndarray]:
    """Linear RGB float32 (H, W, 3) (about 0-1, windows above) and camera-z depth (H, W) metres.
    soft: the shadow blur in fractions of the frame width."""
    h, w = size
    k = intrinsics or nyu_intrinsics(h, w)
    o = np.asarray(camera.position, np.float32)
    dirs = camera_rays(camera, size, k)
    t, normal, material_id, materials, shines = intersect(
        room, o, dirs, lambda box: _candidates(box, camera, size, k))
    p = o + dirs * t[:, None]
    base = albedo(room.noise, p, normal, material_id, materials)
    base *= (0.8 + 0.4 * _grain(room.noise.T, _surface_uv(p, normal) * 3.1))[:, None]  # fine surface detail
    light = np.asarray(room.ambient, np.float32) * _occlusion(room, p, normal)[:, None]
    lift = p + normal * 2e-3
    sigma = max(soft * w, 0.5)
    coarse = np.arange(h * w).reshape(h, w)[::2, ::2]  # shadows at half resolution, then blurred
    for lamp in room.lights:
        to_l = np.asarray(lamp.position, np.float32) - p
        dist = np.linalg.norm(to_l, axis=1)
        ldir = to_l / np.maximum(dist, 1e-6)[:, None]
        cos = np.clip(np.einsum("ij,ij->i", normal, ldir), 0, 1)
        lit = coarse[cos[coarse] > 0]
        vis = np.zeros(len(p), np.float32)
        vis[lit] = ~occluded(room, lift[lit], ldir[lit], dist[lit] - 0.05)
        vis = cv2.resize(vis[coarse], (w, h), interpolation=cv2.INTER_LINEAR)
        vis = cv2.GaussianBlur(vis, (0, 0), sigma).ravel()
        light += (cos * vis / (1 + 0.5 * dist ** 2))[:, None] * np.asarray(lamp.color, np.float32)
    if room.camera_light > 0:
        cam_cos = np.abs(np.einsum("ij,ij->i", normal, dirs)) / np.linalg.norm(dirs, axis=1)
        light += (room.camera_light * cam_cos / (1 + t ** 2))[:, None]
    color = base * light
    glow = shines[material_id]
    color[glow] = base[glow] * 2.5
    if room.haze > 0:
        fade = (1 - np.exp(-room.haze * t))[:, None]
        color = color * (1 - fade) + 0.5 * fade
    return color.reshape(h, w, 3).astype(np.float32), t.reshape(h, w).astype(np.float32)
