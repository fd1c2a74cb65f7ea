"""Fast headless OpenGL renderer (moderngl; EGL, else the default backend) with exact ground truth.

For every camera of a frame it returns a :class:`~synthmouse.render.base.CameraView`: the RGB image, depth
along the camera's z axis, the mouse silhouette, body-part ids, 2D keypoints and their visibility, all from
one geometry pass.

* One OpenGL context is reused for every frame; the rig lives in static vertex buffers, the mouse's vertices
  and normals are re-uploaded each frame (skinned on the CPU by :meth:`synthmouse.body.Body.skin`).
* The scene is drawn once per camera into two render targets at once: ``RGBA8`` (colour, part id in alpha)
  and ``R32F`` (camera z). One directional or spot light casts shadows (a static depth map of the rig and a
  per-frame one of the mouse).
* Cameras follow OpenCV exactly. The scene is rendered with the undistorted pinhole of
  :meth:`synthmouse.scene.camera.Camera.distortion_maps` and, when the lens has distortion, warped with
  ``cv2.remap``: bilinear for the colours, nearest for depth and part ids, so labels never blend (label edges
  are therefore exact to +-0.5 render pixel). Keypoints go through :meth:`Camera.project`, the same lens
  model, so images and labels agree.
* Mirrors: the scene reflected in each mirror is drawn first, clipped by ``gl_ClipDistance`` planes to the
  pyramid from the camera through the mirror's polygon; the mirror polygons then go into the depth buffer so
  that the direct pass cannot draw what lies behind them; the mirror glass finally darkens the reflection by
  its reflectance. Mirror keypoints carry the mirror's suffix; their pixels come from the virtual camera
  :meth:`Mirror.mirrored_camera`, which agrees with the reflected render.
* Labels come from the backend-neutral :mod:`synthmouse.render.visibility` (projected inside the image, in
  front of the camera, at most ``visibility_tolerance`` behind the rendered depth). Surfaces with
  ``opacity < 1`` and meshes with ``occluder: false`` write no camera depth, so they never hide keypoints.
* The renderer renders the scene it is given, nothing else: a frame's randomized lights, fur colour, body
  shape and cameras are already in it (:func:`synthmouse.scene.draw.frame_scene`). Its GPU copies are keyed
  on the scene's immutable parts (frozen dataclasses, read-only arrays): the rig stays uploaded while its
  meshes, materials, mirrors and background are the same objects; a new body (a reshaped mouse) re-uploads
  only the mouse, new vertex colours only the colours; lights are compared by value (when the
  shadow-casting light moves, its static rig shadow map is redrawn).
* Projection maths (OpenGL matrices, shadow projections, mirror clip planes, depth ranges, vertex normals)
  is in :mod:`synthmouse.render.matrices`.
* Each call makes the renderer's context current (several renderers may live in one process).
* Before a camera's buffers are allocated its size is checked against the OpenGL limits
  (``GL_MAX_TEXTURE_SIZE``, ``GL_MAX_RENDERBUFFER_SIZE``, ``GL_MAX_VIEWPORT_DIMS``) and its estimated memory
  against what the process can still allocate (:func:`synthmouse.render.memory.available_memory`); either
  failing raises a one-line
  :class:`~synthmouse.errors.RenderError` naming the camera, the size and the limit, instead of an allocation
  failure deep inside a frame.

Depth in mirror regions is the apparent depth of the reflection (the z of the reflected point in the camera),
so the same occlusion test works for mirror keypoints. Only single reflections are drawn (no mirror in a
mirror). The mask and part ids include the mouse seen in mirrors.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from dataclasses import dataclass, field

import cv2
import numpy as np
import scipy.sparse as sp

from ..body import Pose
from ..errors import RenderError, SynthmouseError
from ..scene.camera import Camera
from ..scene.materials import Light, Material
from ..scene.objects import object_keypoints, reach_bounds
from . import FrameState
from .base import CameraView, FrameResult
from .matrices import (
    NEAR_M,
    ShadowProjection,
    face_incidence,
    far_plane,
    gl_matrix,
    mirror_clip_planes,
    nearest_box_order,
    scene_bounds,
    shadow_projection,
    vertex_normals,
)
from .memory import available_memory
from .shaders import (
    MAX_CLIP_PLANES,
    MAX_LIGHTS,
    MAX_MIRROR_CORNERS,
    MAX_MIRRORS,
    MIRROR_FRAGMENT,
    MIRROR_VERTEX,
    SHADOW_FRAGMENT,
    SHADOW_VERTEX,
    scene_fragment_source,
    scene_vertex_source,
)
from .visibility import facing_mirrors, label_keypoints, label_names, visibility_tolerance

GL_CLIP_DISTANCE0 = 0x3000
LIGHT_TYPE_CODES = {"directional": 1, "point": 2, "spot": 3}
BACKDROP_PARTS = ("table", "room_floor")  # large parts left out of the shadow map's extent
# Memory of one camera, per pixel, estimated before its buffers are allocated (see GLRenderer._check_cameras).
GPU_BYTES_PER_RENDER_PIXEL = 12  # render target: RGBA8 colour + R32F camera z + 32-bit depth renderbuffer
HOST_BYTES_PER_RENDER_PIXEL = 8  # read-back buffers: RGBA8 + float32 z
HOST_BYTES_PER_IMAGE_PIXEL = 32  # a view's images (RGB, float32 depth, mask, part ids) and their copies on the way
# to the files (remaps, depth in millimetres, compositing, PNG encoding); measured: 33 B/px with the render target
# on llvmpipe (a 4096 x 4096 camera, ground-truth images on), so the estimate errs on the safe side
MAPS_BYTES_PER_IMAGE_PIXEL = 100  # computing a distorted lens's remap tables (float64 grids, transient)
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "swiftshader")  # their GPU memory is the host's


class GLUnavailableError(SynthmouseError):
    """No OpenGL context could be created (no EGL and no other headless backend)."""


def load_llvm_users_before_mesa() -> None:
    """Import Triton (shipped with CUDA builds of PyTorch) before Mesa's llvmpipe driver is loaded.

    Both carry their own LLVM. Importing Triton after an llvmpipe context has compiled shaders crashes the
    process with a segmentation fault in LLVM's initialisers (seen with torch 2.14 + Mesa 22.3: rendering, then
    creating a torch optimizer, which imports torch._dynamo and Triton). The other order is safe, so Triton is
    imported first whenever it is installed; a missing or broken Triton is ignored.
    """
    import importlib.util

    if "triton" in sys.modules or importlib.util.find_spec("triton") is None:
        return
    with contextlib.suppress(Exception):
        importlib.import_module("triton")


def create_context(backend: str | None = "egl"):
    """A standalone OpenGL 3.3+ context: EGL first (headless), then moderngl's default backend.

    Raises:
        GLUnavailableError: listing what each backend said.
    """
    load_llvm_users_before_mesa()
    import moderngl

    errors = []
    for attempt in ([backend] if backend else []) + [None]:
        try:
            if attempt is None:
                return moderngl.create_standalone_context(require=330)
            return moderngl.create_standalone_context(backend=attempt, require=330)
        except Exception as exc:  # moderngl/glcontext raise plain Exceptions
            errors.append(f"{attempt or 'default'}: {exc}")
    raise GLUnavailableError("cannot create an OpenGL 3.3 context (" + "; ".join(errors) + ")")


# ---------------------------------------------------------------------------------------------- GPU resources
@dataclass(eq=False)
class _Mesh:
    """One drawable: vertex arrays for the direct and the mirror (clipping) programs and for the shadow pass,
    and its material's uniform values."""

    name: str
    vaos: dict
    shadow_vao: object
    uniforms: dict
    texture: object | None
    occluder: bool
    transparent: bool
    vertex_colour: bool = False
    closed: bool = False  # a closed surface wound counter-clockwise: back faces can be culled
    model: np.ndarray | None = None  # a rig object's world-to-world move from its uploaded rest pose


@dataclass(eq=False)
class _Target:
    """Off-screen framebuffers of one size, and numpy buffers to read them into."""

    colour: object
    zcam: object
    depth: object
    fbo_all: object
    fbo_colour: object
    fbo_overlay: object  # colour only, no depth writes (transparent surfaces, mirror glass)
    fbo_z: object
    fbo_depth: object  # depth only (mirror blockers)
    rgba: np.ndarray
    z: np.ndarray


@dataclass(eq=False)
class _Lens:
    """Cached per camera intrinsics: the undistorted render camera and the remap tables."""

    render_camera: Camera
    linear_maps: tuple | None
    nearest_maps: tuple | None


@dataclass(eq=False)
class _SceneGPU:
    """GPU-side copy of one scene (``scene``: the one rendered last; only parts that ``key``, ``mouse_key``
    and ``colours`` say are on the GPU are read from it)."""

    scene: object
    rig: list[_Mesh]
    rig_bounds: list
    mouse: _Mesh
    mouse_positions: object
    mouse_normals: object
    faces: np.ndarray
    incidence: sp.csr_matrix
    mirror_quads: list
    mirror_backs: list[_Mesh]
    bounds: np.ndarray
    shadows: ShadowProjection | None
    textures: list = field(default_factory=list)
    buffers: list = field(default_factory=list)
    key: tuple = ()
    programs_key: tuple = ()
    mouse_colours: object = None
    mouse_buffers: list = field(default_factory=list)
    mouse_key: tuple = ()
    colours: np.ndarray | None = None  # the (read-only) vertex colours on the GPU
    light_state: tuple = ()  # the lights whose uniforms are set
    shadow_state: tuple = ()  # the shadow caster's geometry of the static (rig) shadow map
    shadow_bounds: np.ndarray | None = None
    objects: list[_Mesh] = field(default_factory=list)  # the rig objects (rest geometry, moved by ``model``)


# ---------------------------------------------------------------------------------------------- renderer
class GLRenderer:
    """Render scenes with moderngl. Use one renderer for many frames (and scenes); call :meth:`close` at the
    end (or use it as a context manager).

    Args:
        backend: ``"egl"`` (headless, default) or None for moderngl's default.
        shadow_size: shadow map resolution (square).
        visibility_tolerance: metres; None uses the scene's ``outputs.visibility_tolerance``.
    """

    def __init__(self, backend: str | None = "egl", shadow_size: int = 1024, visibility_tolerance: float | None = None):
        import moderngl

        self._mgl = moderngl
        self.ctx = create_context(backend)
        self.shadow_size = int(shadow_size)
        self.visibility_tolerance = visibility_tolerance
        ctx = self.ctx
        self.programs: dict = {}
        self._program_cache: dict = {}
        for i in range(MAX_CLIP_PLANES):
            ctx.enable_direct(GL_CLIP_DISTANCE0 + i)
        self.shadow_program = ctx.program(vertex_shader=SHADOW_VERTEX, fragment_shader=SHADOW_FRAGMENT)
        self.mirror_program = ctx.program(vertex_shader=MIRROR_VERTEX, fragment_shader=MIRROR_FRAGMENT)
        self.shadow_maps = [self._shadow_texture(), self._shadow_texture()]  # static (rig), dynamic (mouse)
        # the rig's shadows are sharp anyway: one texel per lookup (cheaper on software rasterizers)
        self.shadow_maps[0].filter = (moderngl.NEAREST, moderngl.NEAREST)
        self.shadow_fbos = [ctx.framebuffer(depth_attachment=tex) for tex in self.shadow_maps]
        self._white = ctx.texture((1, 1), 3, b"\xff\xff\xff")
        self._targets: dict[tuple[int, int], _Target] = {}
        self._lenses: dict[tuple, _Lens] = {}
        self._checked: set[tuple] = set()
        self._gpu: _SceneGPU | None = None
        info = ctx.info
        self.max_size = int(
            min(info["GL_MAX_TEXTURE_SIZE"], info["GL_MAX_RENDERBUFFER_SIZE"], *info["GL_MAX_VIEWPORT_DIMS"])
        )
        self.software = any(name in str(info.get("GL_RENDERER", "")).lower() for name in SOFTWARE_RENDERERS)

    def _shadow_texture(self):
        tex = self.ctx.depth_texture((self.shadow_size, self.shadow_size))
        tex.compare_func = "<="
        tex.filter = (self._mgl.LINEAR, self._mgl.LINEAR)
        tex.repeat_x = tex.repeat_y = False
        return tex

    # -- public API ------------------------------------------------------------------------------------------
    def render(self, scene, frame: FrameState | Pose) -> FrameResult:
        """Render one frame of ``scene`` (a :class:`synthmouse.scene.build.Scene`, e.g. a frame's
        :func:`~synthmouse.scene.draw.frame_scene`) for all its cameras, with its lights and body colours.

        Args:
            scene: the scene.
            frame: a :class:`FrameState` (index and a pose with one frame, world coordinates), or just a
                one-frame :class:`~synthmouse.body.Pose`.

        Returns:
            :class:`FrameResult` (empty ``params``) with one :class:`CameraView` per camera; each view's
            keypoints are the scene's keypoints followed by each mirror's (names with the mirror suffix).
        """
        if isinstance(frame, Pose):
            frame = FrameState(0, frame)
        if frame.pose.n_frames != 1:
            raise SynthmouseError(f"render: frame {frame.index} has {frame.pose.n_frames} poses, expected 1")
        self._check_cameras(scene.cameras)
        with self.ctx:  # current, even when another renderer's context was made current since
            gpu = self._prepare(scene)
            self._apply_lights(gpu, scene.lights)
            self._apply_colours(gpu, scene.body_colours)
            world = scene.body.world_frames(frame.pose)
            vertices = scene.body.skin(frame.pose, world)[0]
            self._upload_mouse(gpu, vertices)
            keypoints3d = scene.body.keypoints(frame.pose, scene.keypoint_set, world)[0]
            objects = getattr(scene, "objects", ())
            if objects:
                _pose_objects(gpu, objects)
                keypoints3d = np.concatenate([keypoints3d, object_keypoints(objects)])
            if gpu.shadows is not None:
                self._shadow_pass(gpu, dynamic=True)
            views = [self._render_view(gpu, camera, keypoints3d) for camera in scene.cameras]
            return FrameResult(frame.index, views, keypoints3d, label_names(scene))

    def close(self) -> None:
        """Release the OpenGL context and everything on it."""
        if self.ctx is not None:
            with self.ctx:
                self._release_scene()
            self.ctx.release()
            self.ctx = None

    def __enter__(self) -> GLRenderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def info(self) -> dict:
        """OpenGL vendor, renderer and version strings."""
        return {k: self.ctx.info[k] for k in ("GL_VENDOR", "GL_RENDERER", "GL_VERSION")}

    # -- scene upload ----------------------------------------------------------------------------------------
    def _prepare(self, scene) -> _SceneGPU:
        """Upload ``scene`` unless its rig, materials, mirrors, background and light kinds are what is on the
        GPU; when only the body differs (a reshaped mouse, :func:`synthmouse.scene.build.reshape_scene`), only
        the mouse is uploaded again."""
        key, programs_key = _rig_key(scene), _programs_key(scene.lights)
        gpu = self._gpu
        if gpu is not None and _same(key, gpu.key) and programs_key == gpu.programs_key:
            if not _same(_mouse_key(scene), gpu.mouse_key):
                self._swap_mouse(gpu, scene)
            gpu.scene = scene
            return gpu
        self._release_scene()
        self.programs = self._scene_programs(scene.lights)
        buffers, textures, cache = [], [], {}
        rig = []
        for mesh in scene.rig:
            material = scene.materials[mesh.material]
            texture = self._texture(material, cache, textures)
            rig.append(
                self._static_mesh(
                    mesh.name,
                    mesh.vertices,
                    mesh.normals,
                    mesh.uvs,
                    mesh.faces,
                    material,
                    texture,
                    mesh.occluder,
                    buffers,
                )
            )
        objects = [self._object_mesh(scene, obj.mesh, cache, textures, buffers) for obj in _objects(scene)]
        mouse_buffers: list = []
        mouse, positions, normals, colours = self._mouse_mesh(scene, mouse_buffers)
        quads, backs = self._mirror_meshes(scene, buffers)
        faces = np.ascontiguousarray(scene.body.mesh.faces, dtype=np.int32)
        self._gpu = _SceneGPU(
            scene,
            rig,
            [m.bounds for m in scene.rig],
            mouse,
            positions,
            normals,
            faces,
            face_incidence(faces, scene.body.mesh.n_vertices),
            quads,
            backs,
            _bounds(scene),
            None,
            textures,
            buffers,
            key,
            programs_key,
            mouse_colours=colours,
            mouse_buffers=mouse_buffers,
            mouse_key=_mouse_key(scene),
            colours=scene.body_colours,
            objects=objects,
        )
        self._setup_lights(self._gpu)
        return self._gpu

    def _swap_mouse(self, gpu: _SceneGPU, scene) -> None:
        """Replace the mouse's GPU mesh by ``scene``'s body (the rig, lights and shadow maps stay)."""
        _release_mesh(gpu.mouse)
        for buffer in gpu.mouse_buffers:
            buffer.release()
        gpu.mouse_buffers = []
        gpu.mouse, gpu.mouse_positions, gpu.mouse_normals, gpu.mouse_colours = self._mouse_mesh(
            scene, gpu.mouse_buffers
        )
        gpu.faces = np.ascontiguousarray(scene.body.mesh.faces, dtype=np.int32)
        gpu.incidence = face_incidence(gpu.faces, scene.body.mesh.n_vertices)
        gpu.bounds = _bounds(scene)
        gpu.mouse_key = _mouse_key(scene)
        gpu.colours = scene.body_colours

    def _scene_programs(self, lights: list[Light]) -> dict:
        """The direct and mirror programs for this light configuration (compiled once, then cached)."""
        key = _programs_key(lights)
        kinds, shadow = key
        if len(kinds) > MAX_LIGHTS:
            raise SynthmouseError(f"{len(kinds)} lights; at most {MAX_LIGHTS} non-ambient lights are supported")
        if key not in self._program_cache:
            fragment = scene_fragment_source(kinds, shadow)
            programs = {
                kind: self.ctx.program(vertex_shader=scene_vertex_source(kind == "mirror"), fragment_shader=fragment)
                for kind in ("direct", "mirror")
            }
            for prog in programs.values():
                _uniform(prog, "u_texture", 0)
                _uniform(prog, "u_shadow_static", 1)
                _uniform(prog, "u_shadow_dynamic", 2)
            self._program_cache[key] = programs
        return self._program_cache[key]

    def _vaos(self, content: list, ibo) -> dict:
        return {
            kind: self.ctx.vertex_array(prog, content, index_buffer=ibo, skip_errors=True)
            for kind, prog in self.programs.items()
        }

    def _static_mesh(
        self,
        name: str,
        vertices,
        normals,
        uvs,
        faces,
        material: Material,
        texture,
        occluder: bool,
        buffers: list,
    ) -> _Mesh:
        ctx = self.ctx
        pos, nrm, uv, ibo = (
            ctx.buffer(np.ascontiguousarray(a, dtype=dt))
            for a, dt in ((vertices, "f4"), (normals, "f4"), (uvs, "f4"), (faces, "i4"))
        )
        buffers += [pos, nrm, uv, ibo]
        vaos = self._vaos([(pos, "3f", "in_pos"), (nrm, "3f", "in_normal"), (uv, "2f", "in_uv")], ibo)
        shadow = ctx.vertex_array(self.shadow_program, [(pos, "3f", "in_pos")], index_buffer=ibo)
        return _Mesh(
            name,
            vaos,
            shadow,
            _material_uniforms(material, texture is not None, False),
            texture,
            occluder,
            material.opacity < 1.0,
        )

    def _object_mesh(self, scene, mesh, cache: dict, textures: list, buffers: list) -> _Mesh:
        """A rig object's rest geometry, uploaded once (a frame moves it with :attr:`_Mesh.model`)."""
        material = scene.materials[mesh.material]
        texture = self._texture(material, cache, textures)
        return self._static_mesh(
            mesh.name, mesh.vertices, mesh.normals, mesh.uvs, mesh.faces, material, texture, mesh.occluder, buffers
        )

    def _mouse_mesh(self, scene, buffers: list) -> tuple[_Mesh, object, object, object]:
        ctx = self.ctx
        body = scene.body
        n = body.mesh.n_vertices
        positions = ctx.buffer(reserve=n * 12, dynamic=True)
        normals = ctx.buffer(reserve=n * 12, dynamic=True)
        colours = ctx.buffer(np.ascontiguousarray(_decode(scene.body_colours), dtype="f4"))
        parts = ctx.buffer(body.vertex_parts().astype("f4"))
        ibo = ctx.buffer(np.ascontiguousarray(body.mesh.faces, dtype="i4"))
        buffers += [positions, normals, colours, parts, ibo]
        vaos = self._vaos(
            [
                (positions, "3f", "in_pos"),
                (normals, "3f", "in_normal"),
                (colours, "3f", "in_colour"),
                (parts, "1f", "in_part"),
            ],
            ibo,
        )
        shadow = ctx.vertex_array(self.shadow_program, [(positions, "3f", "in_pos")], index_buffer=ibo)
        mesh = _Mesh(
            "mouse",
            vaos,
            shadow,
            _material_uniforms(scene.body_material, False, True),
            None,
            True,
            False,
            vertex_colour=True,
            closed=True,
        )
        return mesh, positions, normals, colours

    def _mirror_meshes(self, scene, buffers: list) -> tuple[list, list[_Mesh]]:
        """A plain quad per mirror (blockers, glass) and a shaded one for cameras that see its back."""
        quads, backs = [], []
        for sm in scene.mirrors:
            corners = np.asarray(sm.mirror.corners, dtype="f4")
            tris = np.array([[0, i, i + 1] for i in range(1, len(corners) - 1)], dtype="i4")
            pos, ibo = self.ctx.buffer(corners), self.ctx.buffer(tris)
            buffers += [pos, ibo]
            quads.append(self.ctx.vertex_array(self.mirror_program, [(pos, "3f", "in_pos")], index_buffer=ibo))
            normals = np.broadcast_to(sm.mirror.normal, corners.shape)
            backs.append(
                self._static_mesh(
                    f"mirror_{sm.name}",
                    corners,
                    normals,
                    np.zeros((len(corners), 2)),
                    tris,
                    scene.materials["mirror_back"],
                    None,
                    True,
                    buffers,
                )
            )
        return quads, backs

    def _texture(self, material: Material, cache: dict, textures: list):
        if material.texture is None:
            return None
        key = str(material.texture)
        if key not in cache:
            image = cv2.imread(key, cv2.IMREAD_COLOR)
            if image is None:
                raise SynthmouseError(f"material {material.name!r}: cannot read texture image {key}")
            image = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)[::-1])
            tex = self.ctx.texture((image.shape[1], image.shape[0]), 3, image.tobytes())
            tex.build_mipmaps()
            tex.filter = (self._mgl.LINEAR_MIPMAP_LINEAR, self._mgl.LINEAR)
            tex.anisotropy = 8.0
            cache[key] = tex
            textures.append(tex)
        return cache[key]

    def _release_scene(self) -> None:
        gpu, self._gpu = self._gpu, None
        if gpu is None:
            return
        for mesh in gpu.rig + [gpu.mouse] + gpu.mirror_backs + gpu.objects:
            _release_mesh(mesh)
        for obj in gpu.mirror_quads + gpu.textures + gpu.buffers + gpu.mouse_buffers:
            obj.release()

    def _upload_mouse(self, gpu: _SceneGPU, vertices: np.ndarray) -> None:
        v = np.ascontiguousarray(vertices, dtype=np.float32)
        gpu.mouse_positions.write(v)
        gpu.mouse_normals.write(vertex_normals(v, gpu.faces, gpu.incidence))

    # -- lights and shadows ----------------------------------------------------------------------------------
    def _setup_lights(self, gpu: _SceneGPU) -> None:
        """Light uniforms of the scene's own lights and, with a shadow-casting light, its static rig shadow
        map."""
        gpu.light_state = ()
        gpu.shadow_state = ()
        gpu.shadow_bounds = None
        self._apply_lights(gpu, gpu.scene.lights)
        if gpu.shadows is not None:
            self._shadow_pass(gpu, dynamic=True)

    def _apply_lights(self, gpu: _SceneGPU, lights: list[Light]) -> None:
        """Set the light uniforms to ``lights`` when they differ from what is set; redraw the static shadow
        map when the shadow caster moved."""
        state = _light_state(lights)
        if state == gpu.light_state:
            return
        caster = next((light for light in lights if light.shadows), None)
        if caster is not None:
            geometry = _light_state([caster])
            if geometry != gpu.shadow_state:
                if gpu.shadow_bounds is None:
                    gpu.shadow_bounds = _bounds(gpu.scene, exclude=BACKDROP_PARTS)
                gpu.shadows = shadow_projection(caster, gpu.shadow_bounds, self.shadow_size)
                self._shadow_pass(gpu, dynamic=False)
                gpu.shadow_state = geometry
        uniforms = _light_uniforms(lights)
        for prog in self.programs.values():
            for name, value in uniforms.items():
                _uniform(prog, name, value)
            if caster is not None:
                _uniform(prog, "u_shadow_matrix", gl_matrix(gpu.shadows.shadow_matrix))
                _uniform(prog, "u_shadow_offset", float(gpu.shadows.offset))
        gpu.light_state = state

    def _apply_colours(self, gpu: _SceneGPU, colours: np.ndarray) -> None:
        """Upload the mouse's sRGB vertex colours ``(V, 3)`` when they are not the ones on the GPU (a frame's
        scaled fur, :func:`synthmouse.scene.draw.fur_colours`, or the scene's own back)."""
        if colours is gpu.colours:
            return
        gpu.mouse_colours.write(np.ascontiguousarray(_decode(colours), dtype="f4"))
        gpu.colours = colours

    def _shadow_pass(self, gpu: _SceneGPU, dynamic: bool) -> None:
        """Depth from the shadow-casting light: of the mouse and the rig objects (``dynamic``, every frame) or
        of the rig (once)."""
        fbo = self.shadow_fbos[int(dynamic)]
        fbo.use()
        fbo.clear(depth=1.0)
        self.ctx.enable(self._mgl.DEPTH_TEST)
        self.ctx.disable(self._mgl.BLEND)
        self.ctx.depth_func = "<"
        light_vp = gpu.shadows.light_vp
        self.shadow_program["u_light_vp"].write(gl_matrix(light_vp))
        for mesh in [gpu.mouse] + gpu.objects if dynamic else gpu.rig:
            if mesh.closed:
                self.ctx.enable(self._mgl.CULL_FACE)
            if not mesh.transparent:
                if mesh.model is not None:
                    self.shadow_program["u_light_vp"].write(gl_matrix(light_vp @ mesh.model))
                mesh.shadow_vao.render()
                if mesh.model is not None:
                    self.shadow_program["u_light_vp"].write(gl_matrix(light_vp))
            self.ctx.disable(self._mgl.CULL_FACE)

    # -- cameras ---------------------------------------------------------------------------------------------
    def _check_cameras(self, cameras: list[Camera]) -> None:
        """Raise :class:`RenderError` when a camera's render would exceed the OpenGL size limit or the memory
        this process can still allocate (checked once per camera model, before its buffers exist)."""
        new = [c for c in cameras if _lens_key(c) not in self._checked]
        if not new:
            return
        needs = []
        targets = set(self._targets)
        for camera in new:
            render_w, render_h = render_size(camera)
            if max(render_w, render_h) > self.max_size:
                widened = " (its lens distortion widens the undistorted render)" if camera.has_distortion else ""
                raise RenderError(
                    f"camera {camera.name!r}: a {camera.width} x {camera.height} image needs a {render_w} x "
                    f"{render_h} render{widened}, beyond this OpenGL's limit of {self.max_size} pixels a side "
                    f"(GL_MAX_TEXTURE_SIZE / GL_MAX_RENDERBUFFER_SIZE, {self.ctx.info.get('GL_RENDERER', '?')}); "
                    "lower the camera's width and height in the scene file"
                )
            pixels = camera.width * camera.height
            need = pixels * HOST_BYTES_PER_IMAGE_PIXEL
            if camera.has_distortion:
                need += pixels * MAPS_BYTES_PER_IMAGE_PIXEL
            if (render_w, render_h) not in targets:
                targets.add((render_w, render_h))
                per_pixel = HOST_BYTES_PER_RENDER_PIXEL + (GPU_BYTES_PER_RENDER_PIXEL if self.software else 0)
                need += render_w * render_h * per_pixel
            needs.append((need, camera, (render_w, render_h)))
        available = available_memory()
        total = sum(n for n, _, _ in needs)
        if available is not None and total > available:
            need, camera, (render_w, render_h) = max(needs, key=lambda n: n[0])
            others = f" ({total / 2**30:.1f} GiB with the other cameras)" if len(needs) > 1 else ""
            raise RenderError(
                f"camera {camera.name!r}: a {camera.width} x {camera.height} image needs about "
                f"{need / 2**30:.1f} GiB of memory to render{others} (a {render_w} x {render_h} render target, "
                f"the frame's images), only {available / 2**30:.1f} GiB is available; lower the camera's width "
                "and height in the scene file, or free memory"
            )
        self._checked.update(_lens_key(c) for c in new)
        if len(self._checked) > 4096:
            self._checked.clear()

    def _lens(self, camera: Camera) -> _Lens:
        key = _lens_key(camera)
        if key not in self._lenses:
            if not camera.has_distortion:
                self._lenses[key] = _Lens(camera, None, None)
            else:
                maps = camera.distortion_maps()
                linear = cv2.convertMaps(maps.map_x, maps.map_y, cv2.CV_16SC2)
                nearest = cv2.convertMaps(maps.map_x, maps.map_y, cv2.CV_16SC2, nninterpolation=True)
                self._lenses[key] = _Lens(maps.render_camera, linear, nearest)
            if len(self._lenses) > 64:
                self._lenses.pop(next(iter(self._lenses)))
        lens = self._lenses[key]
        render_camera = dataclasses.replace(lens.render_camera, name=camera.name, R=camera.R, t=camera.t)
        return dataclasses.replace(lens, render_camera=render_camera)

    def _target(self, width: int, height: int, camera: str = "") -> _Target:
        key = (width, height)
        if key not in self._targets:
            ctx = self.ctx
            try:
                colour = ctx.texture(key, 4)
                zcam = ctx.texture(key, 1, dtype="f4")
                depth = ctx.depth_renderbuffer(key)
                overlay = ctx.framebuffer([colour], depth)
                overlay.depth_mask = False
                self._targets[key] = _Target(
                    colour,
                    zcam,
                    depth,
                    ctx.framebuffer([colour, zcam], depth),
                    ctx.framebuffer([colour], depth),
                    overlay,
                    ctx.framebuffer([zcam]),
                    ctx.framebuffer(depth_attachment=depth),
                    np.empty((height, width, 4), np.uint8),
                    np.empty((height, width), np.float32),
                )
            except (self._mgl.Error, MemoryError) as exc:
                raise RenderError(
                    f"camera {camera!r}: cannot allocate its {width} x {height} render target "
                    f"({type(exc).__name__}: {str(exc).strip() or 'out of memory'}); lower the camera's width "
                    "and height in the scene file"
                ) from exc
        return self._targets[key]

    def _render_view(self, gpu: _SceneGPU, camera: Camera, keypoints3d: np.ndarray) -> CameraView:
        scene = gpu.scene
        lens = self._lens(camera)
        rc = lens.render_camera
        target = self._target(rc.width, rc.height, camera.name)
        front = facing_mirrors(scene.mirrors, camera, MAX_MIRRORS)
        far = far_plane(gpu.bounds, rc.position, [scene.mirrors[i].mirror for i in front])
        self._draw_frame(gpu, target, rc, far, front)
        rgb, depth, parts = self._read(target, lens)
        tolerance = visibility_tolerance(scene, self.visibility_tolerance)
        keypoints, visible, names = label_keypoints(scene, camera, keypoints3d, depth, front, tolerance)
        return CameraView(camera.name, camera.sensor_image(rgb), depth, parts > 0, parts, keypoints, visible, names)

    def _draw_frame(self, gpu: _SceneGPU, target: _Target, camera: Camera, far: float, front: list[int]) -> None:
        """Mirror passes first (clipped to each mirror's pyramid), then the mirror polygons into the depth
        buffer (hiding what is behind them), then the direct scene, then the mirror glass over the
        reflections."""
        ctx, mgl = self.ctx, self._mgl
        proj, view, eye = camera.projection_matrix_gl(NEAR_M, far), camera.gl_view_matrix(), camera.position
        depth_range = (NEAR_M, far)
        scene = gpu.scene
        bg = scene.background
        target.fbo_z.clear(0.0, 0.0, 0.0, 0.0)
        target.fbo_colour.clear(float(bg[0]), float(bg[1]), float(bg[2]), 0.0, depth=1.0)
        ctx.enable(mgl.DEPTH_TEST)
        ctx.depth_func = "<"
        for unit, tex in enumerate(self.shadow_maps, start=1):
            tex.use(location=unit)
        order = _front_to_back(gpu, eye) + gpu.objects
        for index in front:
            M = scene.mirrors[index].mirror.reflection_matrix()
            prog = self.programs["mirror"]
            self._set_view(prog, proj, view, M, M[:3, :3] @ eye + M[:3, 3], depth_range)
            planes = mirror_clip_planes(scene.mirrors[index].mirror, eye, MAX_CLIP_PLANES, MAX_MIRROR_CORNERS)
            prog["u_clip"].write(planes.tobytes())
            ctx.front_face = "cw"
            self._draw_meshes(gpu, target, order, "mirror")
        ctx.front_face = "ccw"
        if front:
            self._draw_mirror_blockers(gpu, target, front, proj, view)
        self._set_view(self.programs["direct"], proj, view, np.eye(4), eye, depth_range)
        backs = [gpu.mirror_backs[i] for i in range(len(scene.mirrors)) if i not in front]
        self._draw_meshes(gpu, target, order + backs, "direct")
        for index in front:
            self._draw_mirror_glass(gpu, target, index, proj, view)

    @staticmethod
    def _set_view(prog, proj, view, reflect: np.ndarray, eye: np.ndarray, depth_range: tuple) -> None:
        prog["u_proj"].write(gl_matrix(proj))
        prog["u_view"].write(gl_matrix(view))
        prog["u_reflect"].write(gl_matrix(reflect))
        prog["u_model"].write(gl_matrix(np.eye(4)))
        _uniform(prog, "u_view_pos", tuple(float(x) for x in eye))
        _uniform(prog, "u_depth_range", (float(depth_range[0]), float(depth_range[1])))

    def _draw_meshes(self, gpu: _SceneGPU, target: _Target, order: list[_Mesh], kind: str) -> None:
        """The mouse, then opaque occluders near to far, then see-through parts (colour only), then glass."""
        ctx, mgl = self.ctx, self._mgl
        ctx.disable(mgl.BLEND)
        target.fbo_all.use()
        self._draw(gpu.mouse, kind)
        for mesh in order:
            if mesh.occluder and not mesh.transparent:
                self._draw(mesh, kind)
        see_through = [m for m in order if not m.occluder and not m.transparent]
        if see_through:  # colour only (does not hide keypoints), keeps the part id channel
            target.fbo_colour.use()
            ctx.enable(mgl.BLEND)
            ctx.blend_func = (mgl.ONE, mgl.ZERO, mgl.ZERO, mgl.ONE)
            for mesh in see_through:
                self._draw(mesh, kind)
        transparent = [m for m in order if m.transparent][::-1]
        if transparent:
            target.fbo_overlay.use()
            ctx.enable(mgl.BLEND)
            ctx.blend_func = (mgl.SRC_ALPHA, mgl.ONE_MINUS_SRC_ALPHA, mgl.ZERO, mgl.ONE)
            for mesh in transparent:
                self._draw(mesh, kind)
        ctx.disable(mgl.BLEND)

    def _draw(self, mesh: _Mesh, kind: str) -> None:
        prog = self.programs[kind]
        for name, value in mesh.uniforms.items():
            _uniform(prog, name, value)
        (mesh.texture or self._white).use(location=0)
        if mesh.closed:
            self.ctx.enable(self._mgl.CULL_FACE)
        if mesh.model is None:
            mesh.vaos[kind].render()
        else:  # a moved rig object: positions and normals moved in the shader (shading follows the move)
            prog["u_model"].write(gl_matrix(mesh.model))
            mesh.vaos[kind].render()
            prog["u_model"].write(gl_matrix(np.eye(4)))
        if mesh.closed:
            self.ctx.disable(self._mgl.CULL_FACE)

    def _draw_mirror_blockers(self, gpu: _SceneGPU, target: _Target, front: list[int], proj, view) -> None:
        """Write the mirror polygons' depth (not colour, not camera z): the direct pass then cannot draw what
        is behind a mirror, and the reflections already drawn there stay."""
        prog = self.mirror_program
        prog["u_proj"].write(gl_matrix(proj))
        prog["u_view"].write(gl_matrix(view))
        target.fbo_depth.use()
        self.ctx.depth_func = "1"
        for index in front:
            gpu.mirror_quads[index].render()
        self.ctx.depth_func = "<"

    def _draw_mirror_glass(self, gpu: _SceneGPU, target: _Target, index: int, proj, view) -> None:
        """Darken the reflection by the mirror's reflectance and tint, and add its dark backing."""
        ctx, mgl = self.ctx, self._mgl
        sm = gpu.scene.mirrors[index]
        prog = self.mirror_program
        prog["u_proj"].write(gl_matrix(proj))
        prog["u_view"].write(gl_matrix(view))
        target.fbo_overlay.use()
        ctx.depth_func = "<="
        ctx.enable(mgl.BLEND)
        ctx.blend_func = (mgl.ZERO, mgl.SRC_COLOR, mgl.ZERO, mgl.ONE)
        tint = np.asarray(sm.tint, float) * sm.reflectance
        prog["u_colour"].value = (float(tint[0]), float(tint[1]), float(tint[2]), 1.0)
        gpu.mirror_quads[index].render()
        backing = gpu.scene.materials["mirror_back"].colour * (1.0 - sm.reflectance) * 0.5
        ctx.blend_func = (mgl.ONE, mgl.ONE, mgl.ZERO, mgl.ONE)
        prog["u_colour"].value = (float(backing[0]), float(backing[1]), float(backing[2]), 1.0)
        gpu.mirror_quads[index].render()
        ctx.disable(mgl.BLEND)
        ctx.depth_func = "<"

    # -- read back -------------------------------------------------------------------------------------------
    def _read(self, target: _Target, lens: _Lens) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        target.colour.read_into(target.rgba)
        target.zcam.read_into(target.z)
        rgba = target.rgba[::-1]
        z = target.z[::-1]
        if lens.linear_maps is not None:
            rgb = cv2.remap(rgba, *lens.linear_maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., :3]
            parts = cv2.remap(np.ascontiguousarray(rgba[..., 3]), *lens.nearest_maps, cv2.INTER_NEAREST)
            z = cv2.remap(np.ascontiguousarray(z), *lens.nearest_maps, cv2.INTER_NEAREST)
        else:
            rgb = rgba[..., :3].copy()
            parts = rgba[..., 3].copy()
        depth = np.where(z > 0.0, z, np.float32(np.inf)).astype(np.float32, copy=False)
        return rgb, depth, parts


def _lens_key(camera: Camera) -> tuple:
    return (camera.width, camera.height, camera.K.tobytes(), camera.dist.tobytes())


def render_size(camera: Camera) -> tuple[int, int]:
    """``(width, height)`` of the undistorted render of ``camera`` (:meth:`Camera.distortion_maps`' render
    camera, computed from the image border only: nothing of the image's size is allocated)."""
    if not camera.has_distortion:
        return camera.width, camera.height
    render = camera._render_camera(None, 1.0, 2, 3.0)  # distortion_maps' defaults, as _lens uses them
    return int(render.width), int(render.height)


def _decode(rgb) -> np.ndarray:
    """Colours (0..1, as written in scene files) to the renderer's linear light: gamma 2, the exact inverse of
    the shader's output encoding, so flat colours come out as written."""
    rgb = np.asarray(rgb, dtype=np.float32)
    return rgb * rgb


def _rig_key(scene) -> tuple:
    """The immutable parts of a scene (frozen dataclasses, read-only arrays) whose identity decides whether
    the GPU copy of its rig is current. The body is in :func:`_mouse_key`; lights are set by value."""
    return (
        scene.body_root,
        scene.floor_region,
        scene.body_extent,
        scene.background,
        tuple(scene.rig),
        tuple(scene.materials.items()),
        tuple(scene.mirrors),
        tuple(obj.mesh for obj in _objects(scene)),
    )


def _objects(scene) -> tuple:
    """The scene's rig objects (none for scenes built before objects existed)."""
    return tuple(getattr(scene, "objects", ()))


def _pose_objects(gpu: _SceneGPU, objects) -> None:
    """Set each rig object's model matrix from where the scene holds it (identity: at rest, drawn as is)."""
    for mesh, obj in zip(gpu.objects, objects, strict=True):
        model = obj.model_matrix()
        mesh.model = None if np.allclose(model, np.eye(4), rtol=0.0, atol=1e-12) else model


def _bounds(scene, exclude: tuple[str, ...] = ()) -> np.ndarray:
    """:func:`scene_bounds`, grown to hold the rig objects wherever they move."""
    bounds = scene_bounds(scene, exclude)
    reach = reach_bounds(_objects(scene))
    if reach is None:
        return bounds
    return np.stack([np.minimum(bounds[0], reach[0]), np.maximum(bounds[1], reach[1])])


def _mouse_key(scene) -> tuple:
    """The immutable parts whose identity decides whether the GPU copy of the mouse mesh is current."""
    return (scene.body, scene.body_material)


def _programs_key(lights) -> tuple:
    """What the shader programs depend on: the non-ambient light kinds and which one casts shadows."""
    kinds = tuple(light.kind for light in lights if light.kind != "ambient")
    shadow = next((i for i, light in enumerate(x for x in lights if x.kind != "ambient") if light.shadows), -1)
    return kinds, shadow


def _same(a, b) -> bool:
    """``a`` and ``b`` are the same object, or tuples of the same objects (recursively)."""
    if a is b:
        return True
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return False


def _release_mesh(mesh: _Mesh) -> None:
    for vao in mesh.vaos.values():
        vao.release()
    mesh.shadow_vao.release()


def _light_state(lights: list[Light]) -> tuple:
    """Everything of ``lights`` that goes into uniforms and shadow maps, comparable with ``==``."""
    return tuple(
        (
            light.kind,
            tuple(np.asarray(light.colour, float).tolist()),
            float(light.intensity),
            tuple(np.asarray(light.position, float).tolist()),
            tuple(np.asarray(light.target, float).tolist()),
            float(light.cone_deg),
            float(light.softness),
            bool(light.shadows),
        )
        for light in lights
    )


def _material_uniforms(material: Material, textured: bool, vertex_colour: bool) -> dict:
    """The scene program's per-mesh uniform values for a material (Blinn-Phong exponent from roughness)."""
    shininess = 2.0 / max(float(material.roughness) ** 4, 1e-4) - 2.0
    return {
        "u_vertex_colour": vertex_colour,
        "u_two_sided": not vertex_colour,
        "u_colour": tuple(float(c) for c in _decode(material.colour)),
        "u_shininess": shininess,
        "u_specular": float(material.specular) * (shininess + 8.0) / (8.0 * np.pi),
        "u_opacity": float(material.opacity),
        "u_emission": tuple(float(c) for c in _decode(material.emission)),
        "u_part": 0.0,
        "u_has_texture": textured,
        "u_tile": float(material.tile_size),
    }


# ---------------------------------------------------------------------------------------------- helpers
def _non_ambient(lights: list[Light]) -> list[int]:
    return [i for i, light in enumerate(lights) if light.kind != "ambient"]


def _light_uniforms(lights: list[Light]) -> dict:
    """Uniform values for the lights (non-ambient ones in order; ambient ones summed)."""
    ambient = np.zeros(3)
    pos, direc, rgb, cone = [], [], [], []
    for light in lights:
        colour = _decode(light.colour) * light.intensity
        if light.kind == "ambient":
            ambient += colour
            continue
        outer = np.radians(light.cone_deg)
        pos.append(tuple(float(x) for x in light.position))
        direc.append(tuple(float(x) for x in light.direction))
        rgb.append(tuple(float(x) for x in colour))
        cone.append((float(np.cos(outer)), float(np.cos(outer * (1.0 - light.softness))), light.reference_distance))
    return {
        "u_ambient": tuple(float(a) for a in ambient),
        "u_light_pos": pos,
        "u_light_dir": direc,
        "u_light_rgb": rgb,
        "u_light_cone": cone,
    }


def _uniform(prog, name: str, value) -> None:
    """Set a uniform if the compiler kept it (unused ones are optimized away); arrays are trimmed to the
    active length; bytes are written raw."""
    try:
        member = prog[name]
    except KeyError:
        return
    if isinstance(value, bytes):
        member.write(value)
    elif isinstance(value, list):
        length = getattr(member, "array_length", len(value))
        if value:
            member.value = value[0] if length == 1 else value[:length]
    else:
        member.value = value


def _front_to_back(gpu: _SceneGPU, eye: np.ndarray) -> list[_Mesh]:
    """Rig meshes sorted by the distance of their nearest bounding-box point to ``eye`` (early depth test)."""
    return [gpu.rig[i] for i in nearest_box_order(gpu.rig_bounds, eye)]
