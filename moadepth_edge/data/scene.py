"""Procedural indoor scenes and their numpy ray-caster.

A scene is a room (an axis-aligned box seen from inside) holding furniture-like boxes (rotated
about the vertical) and vertical cylinders. Every surface has a procedural texture evaluated
in world coordinates (so it stays put as the camera moves), Lambertian shading from a
ceiling light plus a light at the camera (falling off with distance, like a flash or a
headlamp), and a faint aerial-perspective haze. The last two are deliberate depth cues a tiny
randomly initialised model can pick up in minutes of CPU training; real scenes offer them
more weakly. World axes: x right, y up, z forward into the
room; the floor is y = 0. Cameras use OpenCV axes (x right, y down, z forward) and depth is
the camera-z distance, as a depth sensor reports it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# texture kinds (PLANKS: wooden floor boards, CARPET: fine fibre noise)
PLAIN, CHECKER, STRIPES, WOOD, TILES, PLANKS, CARPET = range(7)
CAMERA_ZONE_Z = 1.4  # cameras stay in z < this; furniture starts beyond it plus a margin


@dataclass(frozen=True)
class Material:
    color_a: tuple[float, float, float]
    color_b: tuple[float, float, float]
    texture: int
    scale: float  # texture period in metres


@dataclass(frozen=True)
class Box:
    center: tuple[float, float, float]
    half: tuple[float, float, float]
    yaw: float  # rotation about the vertical axis, radians
    material: Material


@dataclass(frozen=True)
class Cylinder:
    center_xz: tuple[float, float]
    radius: float
    height: float  # from the floor
    material: Material


@dataclass(frozen=True)
class Scene:
    size: tuple[float, float, float]  # room width (x), height (y), depth (z), metres
    walls: tuple[Material, Material, Material]  # walls, floor, ceiling
    boxes: tuple[Box, ...]
    cylinders: tuple[Cylinder, ...]
    light: tuple[float, float, float]
    noise: np.ndarray  # 64x64 value-noise tile for surface grain
    haze: float = 0.0  # aerial-perspective density per metre (0: none)
    haze_color: tuple[float, float, float] = (0.6, 0.6, 0.6)


def _color(rng: np.random.Generator, lo: float = 0.15, hi: float = 0.95) -> tuple[float, float, float]:
    base = rng.uniform(lo, hi)
    tint = rng.uniform(-0.2, 0.2, 3)
    return tuple(float(c) for c in np.clip(base + tint, 0.05, 1.0))


def _material(rng: np.random.Generator, kinds: tuple[int, ...]) -> Material:
    a = _color(rng)
    b = tuple(float(c) for c in np.clip(np.array(a) * rng.uniform(0.4, 0.8), 0, 1))
    return Material(a, b, int(rng.choice(kinds)), float(rng.uniform(0.15, 0.6)))


def random_scene(seed: int) -> Scene:
    """A random room with 3-7 boxes and 1-3 cylinders, all beyond the camera zone."""
    rng = np.random.default_rng(seed)
    w, h, d = rng.uniform(3.5, 6.5), rng.uniform(2.5, 3.2), rng.uniform(5.0, 9.0)
    walls = (
        _material(rng, (PLAIN, STRIPES, PLAIN)),
        _material(rng, (TILES, WOOD, CHECKER)),
        _material(rng, (PLAIN,)),
    )
    zmin = CAMERA_ZONE_Z + 0.6
    boxes = []
    for _ in range(rng.integers(3, 8)):
        half = (rng.uniform(0.2, 0.9), rng.uniform(0.2, 1.0), rng.uniform(0.2, 0.7))
        x = rng.uniform(0.2 + half[0], w - 0.2 - half[0]) if w > 0.4 + 2 * half[0] else w / 2
        z = rng.uniform(zmin + half[2] + 0.3, max(zmin + half[2] + 0.31, d - half[2]))
        lift = rng.uniform(0.5, 1.6) if rng.random() < 0.15 else 0.0  # shelves on the wall
        boxes.append(Box((x, half[1] + lift, z), half, float(rng.uniform(-0.6, 0.6)),
                         _material(rng, (PLAIN, WOOD, STRIPES, CHECKER))))
    cylinders = []
    for _ in range(rng.integers(1, 4)):
        r = rng.uniform(0.1, 0.45)
        cylinders.append(Cylinder(
            (rng.uniform(r + 0.1, w - r - 0.1), rng.uniform(zmin + r + 0.3, d - r)),
            r, rng.uniform(0.4, h), _material(rng, (PLAIN, STRIPES)),
        ))
    light = (w * rng.uniform(0.3, 0.7), h - 0.05, d * rng.uniform(0.3, 0.7))
    noise = rng.random((64, 64)).astype(np.float32)
    haze = float(rng.uniform(0.04, 0.1))
    haze_color = tuple(float(c) for c in np.clip(rng.uniform(0.45, 0.75) + rng.uniform(-0.05, 0.05, 3), 0, 1))
    return Scene((w, h, d), walls, tuple(boxes), tuple(cylinders), light, noise, haze, haze_color)


# ---------------------------------------------------------------------------------------------
# ray casting: every function takes origins o (3,) and directions dirs (N, 3) and returns the
# hit distance t (N,) (inf for a miss) and unit normals (N, 3) facing the viewer.


def _hit_room(o: np.ndarray, dirs: np.ndarray, size: tuple[float, float, float]):
    hi = np.asarray(size, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = np.where(dirs > 0, hi, 0.0)
        t_axes = (bound - o) / dirs
    t_axes = np.where(np.isfinite(t_axes) & (t_axes > 0), t_axes, np.inf)
    axis = np.argmin(t_axes, axis=1)
    t = np.take_along_axis(t_axes, axis[:, None], 1)[:, 0]
    normal = np.zeros_like(dirs)
    normal[np.arange(len(dirs)), axis] = -np.sign(dirs[np.arange(len(dirs)), axis])
    # surface id: 0 walls, 1 floor, 2 ceiling
    surface = np.where(axis == 1, np.where(dirs[:, 1] < 0, 1, 2), 0)
    return t, normal, surface


def _hit_box(o: np.ndarray, dirs: np.ndarray, box: Box):
    c, s = np.cos(box.yaw), np.sin(box.yaw)
    rot = np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]], dtype=np.float32)  # world -> box
    lo_ = (o - np.asarray(box.center, dtype=np.float32)) @ rot.T  # o: (3,) or one per ray (N, 3)
    ld = dirs @ rot.T
    half = np.asarray(box.half, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / ld
        t1, t2 = (-half - lo_) * inv, (half - lo_) * inv
    tmin, tmax = np.minimum(t1, t2), np.maximum(t1, t2)
    tmin = np.nan_to_num(tmin, nan=-np.inf)
    axis = np.argmax(tmin, axis=1)
    t_near = np.take_along_axis(tmin, axis[:, None], 1)[:, 0]
    t_far = np.nan_to_num(tmax, nan=np.inf).min(axis=1)
    hit = (t_near <= t_far) & (t_near > 1e-4)
    local_n = np.zeros_like(ld)
    local_n[np.arange(len(ld)), axis] = -np.sign(ld[np.arange(len(ld)), axis])
    return np.where(hit, t_near, np.inf), local_n @ rot


def _hit_cylinder(o: np.ndarray, dirs: np.ndarray, cyl: Cylinder):
    cx, cz = cyl.center_xz
    ox, oz, oy = o[..., 0] - cx, o[..., 2] - cz, o[..., 1]  # o: (3,) or one per ray (N, 3)
    dx, dy, dz = dirs[:, 0], dirs[:, 1], dirs[:, 2]
    a = dx * dx + dz * dz
    b = 2 * (ox * dx + oz * dz)
    disc = b * b - 4 * a * (ox * ox + oz * oz - cyl.radius ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_side = (-b - np.sqrt(disc)) / (2 * a)
        y = oy + t_side * dy
        side = (disc >= 0) & (t_side > 1e-4) & (y >= 0) & (y <= cyl.height)
        t_top = (cyl.height - oy) / dy
    px, pz = ox + t_top * dx, oz + t_top * dz
    top = (t_top > 1e-4) & (px * px + pz * pz <= cyl.radius ** 2) & (oy > cyl.height)
    t = np.where(side, t_side, np.where(top, t_top, np.inf))
    normal = np.zeros_like(dirs)
    normal[:, 0] = np.where(side, (ox + t_side * dx) / cyl.radius, 0)
    normal[:, 2] = np.where(side, (oz + t_side * dz) / cyl.radius, 0)
    normal[:, 1] = np.where(side, 0, 1)
    return t, normal


# ---------------------------------------------------------------------------------------------
# surface appearance


def _texture(mat: Material, uv: np.ndarray, grain: np.ndarray) -> np.ndarray:
    """RGB (N, 3) of material `mat` at surface coordinates uv (N, 2) metres."""
    u, v = uv[:, 0] / mat.scale, uv[:, 1] / mat.scale
    if mat.texture == CHECKER:
        mix = ((np.floor(u) + np.floor(v)) % 2).astype(np.float32)
    elif mat.texture == STRIPES:
        mix = 0.5 + 0.5 * np.sin(2 * np.pi * u)
    elif mat.texture == WOOD:
        mix = 0.5 + 0.5 * np.sin(2 * np.pi * (u * 3 + 2 * grain))
    elif mat.texture == TILES:
        fu, fv = u - np.floor(u), v - np.floor(v)
        mix = ((fu < 0.06) | (fv < 0.06)).astype(np.float32)
    elif mat.texture == PLANKS:  # boards 1 period wide, 4 long, staggered, each its own shade
        row = np.floor(u)
        col = np.floor(v / 4 + 0.37 * row)
        shade = np.modf(np.sin(row * 12.9898 + col * 78.233) * 43758.5453)[0] ** 2
        gap = ((u - row) < 0.04) | ((v / 4 + 0.37 * row - col) < 0.01)
        mix = np.where(gap, 1.0, 0.6 * shade + 0.25 * grain).astype(np.float32)
    elif mat.texture == CARPET:
        mix = grain ** 2
    else:
        mix = 0.3 * grain
    a, b = np.asarray(mat.color_a, np.float32), np.asarray(mat.color_b, np.float32)
    rgb = a * (1 - mix[:, None]) + b * mix[:, None]
    return rgb * (0.9 + 0.2 * grain[:, None])


def _surface_uv(p: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Planar coordinates on the face: drop the coordinate along the dominant normal axis."""
    axis = np.argmax(np.abs(normal), axis=1)
    u = np.where(axis == 0, p[:, 2], p[:, 0])
    v = np.where(axis == 1, p[:, 2], p[:, 1])
    return np.stack([u, v], axis=1)


def _grain(noise: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear lookup in the tiling noise texture at 8 cells per metre."""
    g = uv * 8.0
    i0 = np.floor(g).astype(np.int64)
    f = (g - i0).astype(np.float32)
    n = noise.shape[0]
    i0, i1 = i0 % n, (i0 + 1) % n
    top = noise[i0[:, 0], i0[:, 1]] * (1 - f[:, 1]) + noise[i0[:, 0], i1[:, 1]] * f[:, 1]
    bot = noise[i1[:, 0], i0[:, 1]] * (1 - f[:, 1]) + noise[i1[:, 0], i1[:, 1]] * f[:, 1]
    return top * (1 - f[:, 0]) + bot * f[:, 0]


def intersect(scene: Scene, o: np.ndarray, dirs: np.ndarray):
    """Nearest hit of each ray: t (N,), unit normals (N, 3), material index (N,) into the
    returned material list (walls, floor, ceiling, then each box and cylinder)."""
    t, normal, surface = _hit_room(o, dirs, scene.size)
    material_id = surface.astype(np.int64)
    materials = list(scene.walls)
    for obj in (*scene.boxes, *scene.cylinders):
        if isinstance(obj, Box):
            t_obj, n_obj = _hit_box(o, dirs, obj)
        else:
            t_obj, n_obj = _hit_cylinder(o, dirs, obj)
        closer = t_obj < t
        t = np.where(closer, t_obj, t)
        normal = np.where(closer[:, None], n_obj, normal)
        material_id = np.where(closer, len(materials), material_id)
        materials.append(obj.material)
    return t, normal, material_id, materials


def albedo(noise: np.ndarray, p: np.ndarray, normal: np.ndarray, material_id: np.ndarray,
           materials: list[Material]) -> np.ndarray:
    """Surface colour (N, 3) at hit points p with their normals and material indices."""
    uv = _surface_uv(p, normal)
    grain = _grain(noise, uv)
    out = np.zeros_like(p)
    for k, mat in enumerate(materials):
        sel = material_id == k
        if sel.any():
            out[sel] = _texture(mat, uv[sel], grain[sel])
    return out


def cast(scene: Scene, origin: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Colour (N, 3) float in [0, 1] and ray parameter t (N,) of the nearest hit of each ray."""
    o = origin.astype(np.float32)
    t, normal, material_id, materials = intersect(scene, o, dirs)
    p = o + dirs * t[:, None]
    color = albedo(scene.noise, p, normal, material_id, materials)

    to_light = np.asarray(scene.light, np.float32) - p
    dist2 = np.einsum("ij,ij->i", to_light, to_light)
    ceiling = np.clip(np.einsum("ij,ij->i", normal, to_light) / np.sqrt(dist2), 0, 1) * 6.0 / (1 + 0.6 * dist2)
    to_cam = o - p
    cam_dist = np.linalg.norm(to_cam, axis=1)
    head = np.abs(np.einsum("ij,ij->i", normal, to_cam)) / np.maximum(cam_dist, 1e-6) / (1 + 0.1 * cam_dist ** 2)
    light = 0.15 + 0.5 * ceiling + 0.6 * head
    color = color * light[:, None]
    # aerial perspective: distant surfaces fade towards the haze colour
    fade = 1.0 - np.exp(-scene.haze * cam_dist)
    color = color * (1 - fade[:, None]) + np.asarray(scene.haze_color, np.float32) * fade[:, None]
    return np.clip(color, 0, 1), t
