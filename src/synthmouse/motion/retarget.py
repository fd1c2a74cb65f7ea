"""Retargeting: fit body poses to 3D keypoint trajectories or to 2D keypoints seen by calibrated cameras.

Inverse kinematics with :func:`scipy.optimize.least_squares` (``trf``, bounds = the joint limits), one frame after
another, each warm-started from the previous frame's solution, with an analytic Jacobian:

* keypoints are linear in the skinning transforms, ``p_k = sum_i G_i U_ki`` (``G_i = W_i rest_i^-1``), for skin
  landmarks (weighted vertices) and skeleton landmarks alike, so ``d p_k / d theta`` of a joint axis ``omega``
  through ``o`` is ``omega x (sum over the joint's subtree of G_i U_ki - o c_ki)``;
* the root is a translation and a rotation ``exp(phi) R0`` (``R0`` from a Kabsch fit of the trunk landmarks, or
  the previous frame's rotation);
* residuals (vectorized over keypoints and cameras): weighted keypoint errors (3D metres, or 2D pixels through
  the OpenCV camera model with a robust loss), temporal smoothness of the joint angles and root translation
  towards the previous frame, and a weak prior towards a reference posture for joints the keypoints do not see.

Low-confidence detections are down-weighted by their confidence (and dropped below ``min_confidence``). Solving
frame by frame keeps each trust-region step a small dense problem (about 650 x 240 for SAM with all its
landmarks); BLAS runs on one thread inside the solver, which is faster for matrices this size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from ..body import Body, KeypointSet, Pose
from ..body.rotations import angles_to_matrices, rigid
from ..errors import PoseError
from .projection import project, triangulate
from .rig import MotionRig, motion_rig

TRUNK_LANDMARKS = (
    "nose",
    "neck",
    "body_middle",
    "tail_root",
    "back_shoulders",
    "back_middle",
    "back_rump",
    "head_centre",
    "left_ear_base",
    "right_ear_base",
    "left_eye",
    "right_eye",
    "left_shoulder_joint",
    "right_shoulder_joint",
    "left_hip_joint",
    "right_hip_joint",
)


@dataclass(frozen=True, eq=False)
class LinearKeypoints:
    """A keypoint set in linear-blend form: ``p_k = sum_i G_i @ U[k, i]`` over the joints ``joints``.

    Attributes:
        keypoint_set: the set.
        joints: ``(Ju,) int`` joints that carry weight for some keypoint.
        U: ``(K, Ju, 4)`` homogeneous rest-pose moments (the 4th entry is the keypoint's weight on the joint).
    """

    keypoint_set: KeypointSet
    joints: np.ndarray
    U: np.ndarray

    @classmethod
    def from_body(cls, body: Body, kset: KeypointSet | str) -> LinearKeypoints:
        compiled = body.compiled_keypoints(kset)
        n_k, n_j = len(compiled.keypoint_set), body.skeleton.n_joints
        U = np.zeros((n_k, n_j, 4))
        if compiled.skin_rows.size:
            s = compiled.skin_matrix  # (Ks, V)
            w = body.mesh.weights  # (V, J)
            verts = np.concatenate([body.mesh.vertices.astype(np.float64), np.ones((body.mesh.n_vertices, 1))], 1)
            for row, k in enumerate(compiled.skin_rows):
                srow = s.getrow(row)
                ids, vals = srow.indices, srow.data
                wk = w[ids].multiply(vals[:, None]).tocsc()  # (n, J)
                U[k] = wk.T @ verts[ids]
        rest = body.skeleton.rest
        for row, k in enumerate(compiled.joint_rows):
            j = compiled.joints[row]
            U[k, j] = rest[j] @ np.append(compiled.offsets[row], 1.0)
        used = np.flatnonzero(np.abs(U[..., 3]).sum(axis=0) > 0)
        return cls(compiled.keypoint_set, used, U[:, used])

    def positions(self, skin: np.ndarray) -> np.ndarray:
        """``(F, K, 3)`` keypoints from skinning matrices ``(F, J, 3, 4)``."""
        return np.einsum("fjab,kjb->fka", skin[:, self.joints], self.U)


@dataclass(frozen=True)
class FitResult:
    """Outcome of a fit.

    Attributes:
        pose: the fitted poses.
        keypoints: ``(F, K, 3)`` fitted keypoint positions.
        error: mean keypoint error over observed keypoints (metres for 3D, pixels for 2D).
        per_keypoint: ``(F, K)`` error per keypoint (NaN where unobserved).
        success: the optimiser's status.
        message: the optimiser's message.
    """

    pose: Pose
    keypoints: np.ndarray
    error: float
    per_keypoint: np.ndarray
    success: bool
    message: str


class PoseFitter:
    """Fits poses of one body to keypoints of one keypoint set (see the module docstring).

    Args:
        body: the body (any body with the anatomical groups).
        keypoints: a keypoint set on the body, or a list of landmark names (default: every landmark).
        groups: joint groups whose angles are fitted (default: every group with a non-empty range).
        smooth: weight of the temporal smoothness per radian (or metre of root translation) between frames,
            relative to one metre of keypoint error (3D) or one pixel (2D) times ``smooth_scale``.
        prior: weight pulling angles towards the reference posture.
    """

    def __init__(
        self,
        body: Body,
        keypoints: KeypointSet | list[str] | tuple[str, ...] | None = None,
        groups: list[str] | tuple[str, ...] | None = None,
        rig: MotionRig | None = None,
    ):

        self.body = body
        self.rig = rig or motion_rig(body)
        if keypoints is None:
            keypoints = tuple(sorted(body.landmarks))
        kset = keypoints if isinstance(keypoints, KeypointSet) else self.rig.landmark_set(tuple(keypoints))
        self.kset = kset
        self.linear = LinearKeypoints.from_body(body, kset)
        sk = body.skeleton
        fit_joint = np.ones(sk.n_joints, bool) if groups is None else np.isin(np.array(sk.groups), list(groups))
        mask = self.rig.movable & fit_joint[:, None]
        self.dof_joint, self.dof_axis = np.nonzero(mask)
        self.dof_joints = np.unique(self.dof_joint)
        self.dof_slot = np.searchsorted(self.dof_joints, self.dof_joint)
        # ancestor-inclusion: A[d, u] = 1 if keypoint joint u lies in the subtree of dof joint d (itself included)
        sub = np.zeros((len(self.dof_joints), sk.n_joints), bool)
        for row, j in enumerate(self.dof_joints):
            sub[row, j] = True
            sub[row, sk.descendants(int(j))] = True
        self.A = sub[:, self.linear.joints].astype(np.float64)
        self.C = np.einsum("du,ku->kd", self.A, self.linear.U[..., 3])  # (K, Jd)
        self._inv_rest = np.linalg.inv(sk.rest)

    # ------------------------------------------------------------------ parameters
    @property
    def n_dofs(self) -> int:
        return len(self.dof_joint)

    @property
    def n_params(self) -> int:
        return 6 + self.n_dofs

    def _unpack(self, x: np.ndarray, n_frames: int):
        x = x.reshape(n_frames, self.n_params)
        return x[:, :3], x[:, 3:6], x[:, 6:]

    def _state(self, x, n_frames, base_angles, R0):
        t, phi, theta = self._unpack(x, n_frames)
        angles = base_angles.copy()
        angles[:, self.dof_joint, self.dof_axis] = theta
        R = Rotation.from_rotvec(phi).as_matrix() @ R0
        world = self.body.skeleton.forward_kinematics(angles_to_matrices(angles), rigid(R, t))
        skin = np.matmul(world[:, self.linear.joints], self._inv_rest[self.linear.joints])[..., :3, :]
        points = np.einsum("fjab,kjb->fka", skin, self.linear.U)
        return angles, world, skin, points, t, phi

    def _point_jacobian(self, angles, world, skin, points, t, phi) -> np.ndarray:
        """``(F, K, 3, P)`` derivative of the keypoints with respect to one frame's parameters."""
        n_frames, n_k = points.shape[:2]
        jac = np.zeros((n_frames, n_k, 3, self.n_params))
        jac[:, :, :, :3] = np.eye(3)
        rel = points - t[:, None]
        jac[:, :, :, 3:6] = -_skew(rel) @ _left_jacobian(phi)[:, None]
        # joint axes in the world: pre-rotation frame = W_j R_j^T
        a = angles[:, self.dof_joints]
        pre = world[:, self.dof_joints, :3, :3] @ np.swapaxes(angles_to_matrices(a), -1, -2)
        ca, sa = np.cos(a[..., 0]), np.sin(a[..., 0])
        cb, sb = np.cos(a[..., 1]), np.sin(a[..., 1])
        local_axes = np.stack(
            [
                np.broadcast_to([0.0, 1.0, 0.0], ca.shape + (3,)),
                np.stack([sa, np.zeros_like(sa), ca], -1),
                np.stack([ca * cb, sb, -sa * cb], -1),
            ],
            axis=-2,
        )  # (F, Jd, 3 axes, 3)
        axes = np.einsum("fdij,fdaj->fdai", pre, local_axes)
        origins = world[:, self.dof_joints][..., :3, 3]  # (F, Jd, 3)
        q = np.einsum("fjab,kjb->fkja", skin, self.linear.U)  # (F, K, Ju, 3)
        S = np.einsum("du,fkua->fkda", self.A, q)  # (F, K, Jd, 3)
        lever = S - self.C[None, :, :, None] * origins[:, None]  # (F, K, Jd, 3)
        omega = axes[:, self.dof_slot, self.dof_axis]  # (F, D, 3)
        jac[..., 6:] = np.cross(omega[:, None], lever[:, :, self.dof_slot]).transpose(0, 1, 3, 2)
        return jac

    # ------------------------------------------------------------------ initialisation
    def initial_root(self, targets: np.ndarray, weights: np.ndarray, reference: Pose) -> np.ndarray:
        """``(F, 4, 4)`` root transforms from a weighted Kabsch fit of the trunk landmarks of ``reference``
        (one frame) to ``targets (F, K, 3)``; falls back to all keypoints when fewer than 3 trunk ones are seen."""
        ref_points = self.body.keypoints(reference, self.kset)[0]
        ref_root = reference.root[0]
        names = self.kset.names
        trunk = np.array([n in TRUNK_LANDMARKS for n in names])
        out = np.empty((targets.shape[0], 4, 4))
        for f in range(targets.shape[0]):
            seen = (weights[f] > 0) & np.isfinite(targets[f]).all(-1)
            use = seen & trunk if (seen & trunk).sum() >= 3 else seen
            if use.sum() < 3:
                raise PoseError(f"frame {f}: fewer than 3 keypoints observed, cannot place the body")
            out[f] = _kabsch(ref_points[use], targets[f, use], weights[f, use]) @ ref_root
        return out

    # ------------------------------------------------------------------ fitting
    def fit3d(
        self,
        targets: np.ndarray,
        weights: np.ndarray | None = None,
        init: Pose | None = None,
        smooth: float = 0.002,
        prior: float = 0.0005,
        max_nfev: int = 30,
        warm: Pose | None = None,
    ) -> FitResult:
        """Fit poses to 3D keypoints.

        Args:
            targets: ``(F, K, 3)`` metres, in the order of the keypoint set; NaN where unobserved.
            weights: ``(F, K)`` confidence (default 1).
            init: starting poses (``F`` frames or one); default: the standing posture placed by Kabsch.
            smooth: metres of keypoint error equivalent to one radian of frame-to-frame change.
            prior: metres equivalent to one radian away from the reference posture.
            warm: the solved pose of the frame just before these (one frame): the first frame starts from it
                and is smoothed towards it, as every later frame is towards its predecessor, so fitting a long
                sequence in chunks chained this way solves the same problems as fitting it in one call.
        """
        targets = np.asarray(targets, dtype=np.float64)
        n_frames = targets.shape[0]
        w = np.ones(targets.shape[:2]) if weights is None else np.asarray(weights, dtype=np.float64)
        w = np.where(np.isfinite(targets).all(-1), w, 0.0)
        clean = np.nan_to_num(targets)
        x0, base, R0, ref = self._initial_state(init, n_frames, lambda r: self.initial_root(targets, w, r))
        sw = np.sqrt(w)

        def residuals(f, state):
            return (sw[f][..., None] * (state[3][0] - clean[f])).reshape(-1)

        def jacobian(f, state):
            return (self._point_jacobian(*state)[0] * sw[f][:, None, None]).reshape(-1, self.n_params)

        def report(points):
            return np.where(w > 0, np.linalg.norm(points - clean, axis=-1), np.nan)

        return self._solve(
            x0,
            base,
            R0,
            ref,
            residuals,
            jacobian,
            smooth,
            prior,
            max_nfev,
            "linear",
            1.0,
            report,
            self._warm_vector(warm),
        )

    def fit2d(
        self,
        cameras,
        pixels: np.ndarray,
        confidence: np.ndarray | None = None,
        init: Pose | None = None,
        min_confidence: float = 0.1,
        smooth: float = 2.0,
        prior: float = 0.5,
        loss: str = "soft_l1",
        f_scale: float = 5.0,
        max_nfev: int = 30,
        warm: Pose | None = None,
    ) -> FitResult:
        """Fit poses to 2D keypoints seen by one or more calibrated cameras.

        Args:
            cameras: ``C`` camera-like objects (``K, dist, R, t``; see :mod:`synthmouse.motion.projection`).
            pixels: ``(C, F, K, 2)`` detections, NaN where missing.
            confidence: ``(C, F, K)`` detection likelihoods in [0, 1]; residuals are scaled by
                ``sqrt(confidence)`` and detections below ``min_confidence`` are dropped.
            init: starting poses; default: the standing posture placed on keypoints triangulated from the
                views (needs two cameras); with one camera ``init`` is required.
            smooth, prior: pixels equivalent to one radian (see :meth:`fit3d`).
            loss, f_scale: robust loss of :func:`scipy.optimize.least_squares` and its scale in pixels.
            warm: the solved pose of the preceding frame (see :meth:`fit3d`).
        """
        pixels = np.asarray(pixels, dtype=np.float64)
        n_cams, n_frames = pixels.shape[:2]
        if len(cameras) != n_cams:
            raise PoseError(f"fit2d: {len(cameras)} cameras but pixels have {n_cams} views")
        conf = np.ones(pixels.shape[:3]) if confidence is None else np.asarray(confidence, dtype=np.float64)
        conf = np.where(np.isfinite(pixels).all(-1) & (conf >= min_confidence), np.nan_to_num(conf), 0.0)
        clean = np.nan_to_num(pixels)
        if init is None and n_cams < 2:
            raise PoseError("fit2d with one camera needs an initial pose (init=...)")

        def root_from_views(ref):
            pts = np.stack([triangulate(cameras, pixels[:, f], conf[:, f]) for f in range(n_frames)])
            wt = np.where(np.isfinite(pts).all(-1), conf.mean(axis=0), 0.0)
            return self.initial_root(np.nan_to_num(pts), wt, ref)

        x0, base, R0, ref = self._initial_state(init, n_frames, root_from_views)
        sw = np.sqrt(conf)

        def residuals(f, state):
            pts = state[3][0]
            return np.concatenate(
                [(sw[c, f][:, None] * (project(cam, pts) - clean[c, f])).reshape(-1) for c, cam in enumerate(cameras)]
            )

        def jacobian(f, state):
            jp = self._point_jacobian(*state)[0]  # (K, 3, P)
            blocks = []
            for c, cam in enumerate(cameras):
                _, dpix = project(cam, state[3][0], jacobian=True)  # (K, 2, 3)
                blocks.append((np.einsum("kab,kbp->kap", dpix, jp) * sw[c, f][:, None, None]).reshape(-1, jp.shape[-1]))
            return np.concatenate(blocks)

        def report(points):
            err = np.stack([np.linalg.norm(project(cam, points) - clean[c], axis=-1) for c, cam in enumerate(cameras)])
            seen = conf > 0
            total = np.where(seen, err, 0.0).sum(axis=0)
            count = seen.sum(axis=0)
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)  # NaN where no camera saw it

        return self._solve(
            x0,
            base,
            R0,
            ref,
            residuals,
            jacobian,
            smooth,
            prior,
            max_nfev,
            loss,
            f_scale,
            report,
            self._warm_vector(warm),
        )

    # ------------------------------------------------------------------ internals
    def _initial_state(self, init: Pose | None, n_frames: int, place):
        if init is None:
            posture = self.rig.standing
            ref = posture.pose(1)
            root = place(ref)
            angles = np.broadcast_to(posture.angles, (n_frames,) + posture.angles.shape).copy()
            prior_angles = posture.angles
        else:
            if init.n_joints != self.body.skeleton.n_joints:
                raise PoseError(f"init pose has {init.n_joints} joints, body has {self.body.skeleton.n_joints}")
            idx = np.arange(n_frames) if init.n_frames == n_frames else np.zeros(n_frames, dtype=int)
            root = init.root[idx]
            angles = init.angles[idx]
            prior_angles = init.angles[0]
        angles = self.rig.clamp(angles)
        margin = 1e-7
        theta = np.clip(
            angles[:, self.dof_joint, self.dof_axis],
            self.rig.lo[self.dof_joint, self.dof_axis] + margin,
            self.rig.hi[self.dof_joint, self.dof_axis] - margin,
        )
        x0 = np.concatenate([root[:, :3, 3], np.zeros((n_frames, 3)), theta], axis=1)
        return x0, angles, root[:, :3, :3].copy(), self.rig.clamp(prior_angles)[self.dof_joint, self.dof_axis]

    def _warm_vector(self, warm: Pose | None) -> tuple[np.ndarray, np.ndarray] | None:
        """``(x, R)``: the solver's parameter vector of the last frame of ``warm`` (root translation, no extra
        rotation, the fitted angles inside the bounds) and its root rotation ``(3, 3)``, or None."""
        if warm is None:
            return None
        if warm.n_joints != self.body.skeleton.n_joints:
            raise PoseError(f"warm pose has {warm.n_joints} joints, body has {self.body.skeleton.n_joints}")
        theta = self.rig.clamp(warm.angles[-1])[self.dof_joint, self.dof_axis]  # the solver keeps it off the bounds
        return np.concatenate([warm.root[-1, :3, 3], np.zeros(3), theta]), warm.root[-1, :3, :3].copy()

    def _solve(
        self,
        x0,
        base,
        R0,
        prior_theta,
        residuals,
        jacobian,
        smooth,
        prior,
        max_nfev,
        loss,
        f_scale,
        report,
        warm: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> FitResult:
        """Frame after frame: each frame a bounded least-squares problem (dense trust-region steps), warm
        started from the previous frame's solution, with smoothness towards it and the prior."""
        n_frames, P = x0.shape
        lo = np.concatenate([np.full(6, -np.inf), self.rig.lo[self.dof_joint, self.dof_axis]])
        hi = np.concatenate([np.full(6, np.inf), self.rig.hi[self.dof_joint, self.dof_axis]])
        smooth_cols = np.concatenate([np.arange(3), 6 + np.arange(self.n_dofs)])
        extra_jac = np.zeros((len(smooth_cols) + self.n_dofs, P))
        extra_jac[np.arange(len(smooth_cols)), smooth_cols] = smooth
        extra_jac[len(smooth_cols) + np.arange(self.n_dofs), 6 + np.arange(self.n_dofs)] = prior
        warm_nfev = max(5, max_nfev // 2)
        states = []
        ok, messages = True, set()
        previous, warm_rotation = warm if warm is not None else (None, None)
        for f in range(n_frames):
            start = x0[f].copy()
            R0f = R0[f : f + 1]
            if previous is not None:  # warm start from the previous frame: its root and angles
                start[:3] = previous[:3]
                start[6:] = previous[6:]
                R0f = (states[-1][1] if states else warm_rotation)[None]
            start[3:6] = 0.0
            start = np.clip(start, lo + 1e-9, hi - 1e-9)
            anchor = start.copy()
            cache: dict = {}

            def state_of(x, R0f=R0f, f=f, cache=cache):
                key = x.tobytes()
                if cache.get("key") != key:
                    cache["key"], cache["state"] = key, self._state(x[None], 1, base[f : f + 1], R0f)
                return cache["state"]

            def fun(x, f=f, anchor=anchor, has_prev=previous is not None, state_of=state_of):
                state = state_of(x)
                sm = smooth * (x[smooth_cols] - anchor[smooth_cols]) if has_prev else np.zeros(len(smooth_cols))
                return np.concatenate([residuals(f, state), sm, prior * (x[6:] - prior_theta)])

            def jac(x, f=f, has_prev=previous is not None, state_of=state_of):
                data = jacobian(f, state_of(x))
                extra = (
                    extra_jac
                    if has_prev
                    else np.vstack([np.zeros((len(smooth_cols), P)), extra_jac[len(smooth_cols) :]])
                )
                return np.vstack([data, extra])

            with _single_thread_blas():
                result = least_squares(
                    fun,
                    start,
                    jac=jac,
                    bounds=(lo, hi),
                    method="trf",
                    tr_solver="exact",
                    loss=loss,
                    f_scale=f_scale,
                    x_scale="jac",
                    max_nfev=warm_nfev if previous is not None else max_nfev,
                )
            ok &= bool(result.success)
            messages.add(str(result.message))
            state = state_of(result.x)
            R = Rotation.from_rotvec(result.x[3:6]).as_matrix() @ R0f[0]
            states.append((state[0][0], R, state[4][0], state[3][0]))
            previous = result.x.copy()
        angles = np.stack([s[0] for s in states])
        rot = np.stack([s[1] for s in states])
        trans = np.stack([s[2] for s in states])
        points = np.stack([s[3] for s in states])
        pose = Pose(rigid(rot, trans), angles_to_matrices(self.rig.clamp(angles)))
        per = report(points)
        return FitResult(pose, points, float(np.nanmean(per)), per, ok, "; ".join(sorted(messages)))


def _single_thread_blas():
    """Limit BLAS to one thread while solving: the problems are small, and threads fight on busy machines."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _skew(v: np.ndarray) -> np.ndarray:
    out = np.zeros(v.shape + (3,))
    out[..., 0, 1], out[..., 0, 2] = -v[..., 2], v[..., 1]
    out[..., 1, 0], out[..., 1, 2] = v[..., 2], -v[..., 0]
    out[..., 2, 0], out[..., 2, 1] = -v[..., 1], v[..., 0]
    return out


def _left_jacobian(phi: np.ndarray) -> np.ndarray:
    """``(F, 3, 3)`` left Jacobian of SO(3) at rotation vectors ``(F, 3)``."""
    theta = np.linalg.norm(phi, axis=-1)[..., None, None]
    K = _skew(phi)
    small = theta < 1e-6
    th = np.where(small, 1.0, theta)
    a = np.where(small, 0.5, (1.0 - np.cos(th)) / th**2)
    b = np.where(small, 1.0 / 6.0, (th - np.sin(th)) / th**3)
    return np.eye(3) + a * K + b * (K @ K)


def _kabsch(source: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``(4, 4)`` rigid transform minimising the weighted distance of ``source (N, 3)`` to ``target (N, 3)``."""
    w = weights / weights.sum()
    cs, ct = w @ source, w @ target
    H = ((source - cs) * w[:, None]).T @ (target - ct)
    U, _, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(Vt.T @ U.T))
    R = Vt.T @ np.diag([1.0, 1.0, d]) @ U.T
    return rigid(R, ct - R @ cs)
