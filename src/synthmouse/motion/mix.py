"""The motion mix: a YAML description of generators, weights, durations and parameters, sampled frame by frame.

Timeline and random access (the design choice)
----------------------------------------------
A frame must be computable from ``(seed, frame index)`` alone, without generating the frames before it, because
the dataset generator renders frame ``i`` seeded by ``(seed, i)`` and shards may start anywhere. The timeline is
therefore cut into fixed *blocks* of ``block_seconds``; block ``b`` is planned from ``SeedSequence([seed, b,
PLAN])`` alone: bouts are drawn one after another (a generator with probability weight / mean duration, so
weights are shares of time; a duration uniform in its ``duration`` range) until the block is full, the last bout
cut at the block's end. Bout ``j`` of block ``b`` is
generated from ``SeedSequence([seed, b, j, BOUT])`` and gets the segment id ``b * 4096 + j``; the dataset can split
train/val/test by segment id.

The root must be continuous across bouts that are generated independently, so bouts start and end at known
states: block ``b`` has an *anchor* drawn from ``SeedSequence([seed, b, ANCHOR])`` alone, and the *targets* of its
walking bouts are chained from it to block ``b + 1``'s anchor (:mod:`synthmouse.motion.itinerary`: wall following
in an arena, from ``SeedSequence([seed, b, ROUTE])`` and the block's plan, no poses). A walking bout walks from
its start to its target; a stationary bout ends where it started. The start of a bout is found by walking back
over stationary bouts (only plans, which are cheap) to the last walking one. Each bout is generated
``blend_seconds`` longer than its slot (a moving bout stands still at its target for that time); the first
``blend`` frames of the next bout are blended from the tail of the previous one with a minimum-jerk weight (angles
linearly, inside the convex limit box; root position linearly, rotation by slerp).

So :meth:`MotionMix.pose_at` generates at most two bouts, and a small cache makes in-order access cost about
one bout per bout. :meth:`MotionMix.sample` uses the same code, so ``sample(n)[i] == pose_at(i)`` exactly.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import yaml
from pydantic import ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator
from scipy.spatial.transform import Rotation

from ..body import Body, Pose
from ..body.rotations import angles_to_matrices, rigid
from ..errors import SceneError
from ..io.schema import StrictScalarsModel
from ..io.validation import format_validation_error
from ..io.yamlio import compose_yaml
from .base import Arena, Clip, HeadFixed, RootState, Stage, Support, pitch_matrix
from .behaviours import GroomSpec, ReachSpec, RearSpec, RestSpec, ScanSpec
from .gait import LocomotionSpec
from .itinerary import Place, anchor_place, block_targets
from .noise import min_jerk
from .path import wall_track
from .playback import ClipSpec, end_state
from .posture import body_axis
from .rare import RareSpec
from .rig import motion_rig
from .semirandom import SemiRandomSpec

STREAM_PLAN, STREAM_BOUT, STREAM_ANCHOR, STREAM_ROUTE = 101, 102, 103, 104
MAX_BOUTS_PER_BLOCK = 4096
MAX_BOUT_FRAMES = 36_000  # frames of one generated bout (memory: a few hundred MB of joint angles and rotations)
GENERATOR_SPECS = (
    SemiRandomSpec,
    LocomotionSpec,
    RearSpec,
    GroomSpec,
    ScanSpec,
    RestSpec,
    ReachSpec,
    RareSpec,
    ClipSpec,
)


def _type_tag(value):
    return value.get("type") if isinstance(value, dict) else getattr(value, "type", None)


# A callable discriminator (not ``discriminator="type"``): the generator specs check every field's value kind
# before validation (StrictScalarsModel), which pydantic does not allow on a string discriminator's field.
GeneratorEntry = Annotated[
    Annotated[SemiRandomSpec, Tag("random")]
    | Annotated[LocomotionSpec, Tag("locomotion")]
    | Annotated[RearSpec, Tag("rear")]
    | Annotated[GroomSpec, Tag("groom")]
    | Annotated[ScanSpec, Tag("scan")]
    | Annotated[RestSpec, Tag("rest")]
    | Annotated[ReachSpec, Tag("reach")]
    | Annotated[RareSpec, Tag("rare")]
    | Annotated[ClipSpec, Tag("clip")],
    Discriminator(_type_tag),
]
COORDINATE_M = 100.0  # |x|, |y|, |z| bound of positions (as in scene files)
Coordinate = Annotated[float, Field(ge=-COORDINATE_M, le=COORDINATE_M)]


class SupportSpec(StrictScalarsModel):
    """The support surface: ``floor``, ``treadmill`` or ``wheel`` (metres)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["floor", "treadmill", "wheel"] = "floor"
    height: float = Field(0.0, ge=-10.0, le=10.0)
    radius: float = Field(0.1, gt=0.01, le=2.0)

    def build(self) -> Support:
        return Support(self.type, self.height, self.radius)


class ArenaSpec(StrictScalarsModel):
    """The arena rectangle (metres) and how far the root keeps from its walls."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    x: tuple[Coordinate, Coordinate] = (-0.2, 0.2)
    y: tuple[Coordinate, Coordinate] = (-0.2, 0.2)
    margin: float = Field(0.04, ge=0.0, le=10.0)
    # thigmotaxis (docs/motion/README.md): share of time the body centre spends within periphery_width of a wall;
    # wall-following runs the body's midline wall_distance from the wall
    periphery: float = Field(0.8, ge=0.0, le=1.0)
    periphery_width: float = Field(0.08, gt=0.0, le=10.0)
    wall_distance: float = Field(0.025, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _check(self) -> ArenaSpec:
        for name in ("x", "y"):
            lo, hi = getattr(self, name)
            if hi - lo <= 2 * self.margin:
                raise ValueError(f"arena {name} range {[lo, hi]} must be wider than twice the margin ({self.margin})")
        return self

    def build(self) -> Arena:
        return Arena(
            self.x[0],
            self.x[1],
            self.y[0],
            self.y[1],
            self.margin,
            self.periphery,
            self.periphery_width,
            self.wall_distance,
        )


class HeadFixedSpec(StrictScalarsModel):
    """Head fixation: the head joint held at ``position`` (metres) with ``pitch`` (degrees, nose down positive);
    without a position the head stays where the standing posture on top of the support puts it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    position: tuple[Coordinate, Coordinate, Coordinate] | None = None
    pitch: float = Field(0.0, ge=-60.0, le=60.0)


class MotionMixSpec(StrictScalarsModel):
    """A motion mix as written in YAML (see ``docs/motion/README.md``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    fps: float = Field(30.0, gt=0.0, le=10000.0)
    block_seconds: float = Field(30.0, gt=0.5, le=3600.0)
    blend_seconds: float = Field(0.3, ge=0.0, le=5.0)
    support: SupportSpec = Field(default_factory=SupportSpec)
    arena: ArenaSpec | None = Field(default_factory=ArenaSpec)
    head_fixed: HeadFixedSpec | None = None
    generators: list[GeneratorEntry] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _check_generators(self) -> MotionMixSpec:
        labels = [g.label for g in self.generators]
        dup = sorted({n for n in labels if labels.count(n) > 1})
        if dup:
            raise ValueError(f"generator names must be unique, found {dup} more than once; give each a 'name'")
        shortest = min(g.duration[0] for g in self.generators)
        if shortest < 2 * self.blend_seconds:
            raise ValueError(
                f"the shortest bout ({shortest} s) must last at least twice blend_seconds ({self.blend_seconds} s)"
            )
        longest = max(g.duration[1] for g in self.generators)
        frames = (min(longest, self.block_seconds) + self.blend_seconds) * self.fps
        if frames > MAX_BOUT_FRAMES:
            raise ValueError(
                f"a bout of up to {min(longest, self.block_seconds):g} s (the longest duration, at most "
                f"block_seconds) at {self.fps:g} fps is {frames:.0f} frames; allowed at most {MAX_BOUT_FRAMES} "
                "frames per bout (each bout is generated whole): shorten the durations or block_seconds"
            )
        return self

    def stage(self, default: Stage | None = None) -> Stage:
        """The :class:`Stage` of this mix: its ``support``, ``arena`` and ``head_fixed`` sections where the mix
        writes them; the others from ``default`` (a scene's stage, derived from its rig), or without one the
        sections' defaults (a floor, the default arena, no head fixation)."""
        written = self.model_fields_set
        base = default if default is not None else Stage(self.support.build(), self._arena(), None)
        return Stage(
            self.support.build() if "support" in written else base.support,
            self._arena() if "arena" in written else base.arena,
            self._head_fixed() if "head_fixed" in written else base.head_fixed,
            base.spout,
        )

    def _arena(self) -> Arena | None:
        return self.arena.build() if self.arena is not None else None

    def _head_fixed(self) -> HeadFixed | None:
        hf = self.head_fixed
        if hf is None:
            return None
        if hf.position is None:
            return HeadFixed(None)
        return HeadFixed(rigid(pitch_matrix(np.radians(hf.pitch)), np.array(hf.position)))


def load_mix_spec(source: str | Path | dict, name: str = "<mix>", base_dir: str | Path | None = None) -> MotionMixSpec:
    """Validate a mix from a YAML file path or a dict; errors name the file, line (for a file), field path, bad
    value and what is allowed (:func:`synthmouse.io.validation.format_validation_error`).

    Relative paths in the mix (``clip`` files) start at ``base_dir``: by default the mix file's folder, or the
    working directory for a dict.
    """
    node = None
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        name = str(path)
        base_dir = path.resolve().parent if base_dir is None else base_dir
        data, node = compose_yaml(path, error=SceneError, what="motion mix file")
    if not isinstance(data, dict):
        raise SceneError(f"{name}: a motion mix must be a mapping with a 'generators' list, got {type(data).__name__}")
    try:
        return MotionMixSpec.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise SceneError(mix_validation_error(exc, name, data, node)) from None


def mix_validation_error(exc: ValidationError, name: str, data: dict, node: yaml.Node | None = None) -> str:
    """One line per problem: ``file, line N: field.path: message (got value)``, unknown keys with the allowed
    keys of their section."""
    return format_validation_error(exc, name, data, node, model=MotionMixSpec, what="the motion mix")


class Bout:
    """One planned bout: its slot on the timeline and its generator; ``short`` when the block's end cut it below
    its generator's minimum duration (such a bout does not walk to a new anchor: it would have to rush there)."""

    __slots__ = ("block", "index", "start", "length", "entry", "short")

    def __init__(self, block: int, index: int, start: int, length: int, entry: int, short: bool = False):
        self.block, self.index, self.start, self.length, self.entry = block, index, start, length, entry
        self.short = short

    @property
    def segment_id(self) -> int:
        return self.block * MAX_BOUTS_PER_BLOCK + self.index


class MotionMix:
    """A validated mix bound to a body and a stage (see the module docstring).

    Args:
        spec: the validated mix.
        body: the body to animate.
        stage: where it moves (a scene's stage with the mix's own sections applied, see
            :meth:`MotionMixSpec.stage`); None: the mix's own sections.
        cache_size: bouts kept in memory for sequential access.
    """

    def __init__(self, spec: MotionMixSpec, body: Body, stage: Stage | None = None, cache_size: int = 8):
        self.spec = spec
        self.body = body
        self.rig = motion_rig(body)
        # weights are shares of time: a bout is drawn with probability weight / mean duration
        self.weights = np.array([g.weight for g in spec.generators]) / sum(g.weight for g in spec.generators)
        per_bout = self.weights / np.array([0.5 * (g.duration[0] + g.duration[1]) for g in spec.generators])
        self.bout_probabilities = per_bout / per_bout.sum()
        self.stage = stage if stage is not None else spec.stage()
        self.offset = body_axis(self.rig)[0]  # the body centre ahead of the root
        self.track = wall_track(self.stage.arena, body_axis(self.rig)[1]) if self.stage.free else None
        self._cache: OrderedDict = OrderedDict()
        self._plans: OrderedDict = OrderedDict()
        self._targets: OrderedDict = OrderedDict()
        self._ends: OrderedDict = OrderedDict()  # end states of path-following bouts (clips on a floor)
        self.cache_size = cache_size
        for g in spec.generators:  # fail early: recorded clips must fit this body
            check = getattr(g, "check_body", None)
            if check is not None:
                check(self.rig)

    @classmethod
    def from_yaml(cls, path: str | Path, body: Body) -> MotionMix:
        return cls(load_mix_spec(path), body)

    @classmethod
    def from_dict(cls, data: dict, body: Body) -> MotionMix:
        return cls(load_mix_spec(data), body)

    @property
    def names(self) -> list[str]:
        return [g.label for g in self.spec.generators]

    # ------------------------------------------------------------------ planning
    def block_frames(self, fps: float) -> int:
        return max(1, int(round(self.spec.block_seconds * fps)))

    def blend_frames(self, fps: float) -> int:
        return int(round(self.spec.blend_seconds * fps))

    def plan(self, block: int, fps: float, seed: int) -> list[Bout]:
        """The bouts of one block (cheap: random draws only)."""
        key = (block, fps, seed)
        if key in self._plans:
            return self._plans[key]
        rng = _rng(seed, block, STREAM_PLAN)
        size = self.block_frames(fps)
        bouts, t = [], 0
        while t < size:
            entry = int(rng.choice(len(self.weights), p=self.bout_probabilities))
            lo, hi = self.spec.generators[entry].duration
            length = max(1, int(round(rng.uniform(lo, hi) * fps)))
            short = size - t < min(length, int(round(lo * fps)))
            length = min(length, size - t)
            bouts.append(Bout(block, len(bouts), block * size + t, length, entry, short))
            t += length
        self._plans[key] = bouts
        while len(self._plans) > 64:
            self._plans.popitem(last=False)
        return bouts

    def bout_at(self, frame: int, fps: float, seed: int) -> Bout:
        block = frame // self.block_frames(fps)
        for bout in self.plan(block, fps, seed):
            if bout.start <= frame < bout.start + bout.length:
                return bout
        raise AssertionError("unreachable: a block's bouts cover it")  # pragma: no cover

    def _previous(self, bout: Bout, fps: float, seed: int) -> Bout | None:
        if bout.index > 0:
            return self.plan(bout.block, fps, seed)[bout.index - 1]
        if bout.block == 0:
            return None
        return self.plan(bout.block - 1, fps, seed)[-1]

    def _walks(self, bout: Bout) -> bool:
        """A generator that walks to an end anchor (locomotion), on a floor without head fixation."""
        return (
            bool(self.spec.generators[bout.entry].moves_root)
            and self.stage.support.kind == "floor"
            and self.stage.head_fixed is None
        )

    def _moves(self, bout: Bout) -> bool:
        """The bout walks from its start anchor to the next bout's drawn anchor (a walking bout not cut short)."""
        return self._walks(bout) and not bout.short

    def _follows_path(self, bout: Bout) -> bool:
        """A bout whose root follows its own (recorded) path and ends where that path ends (``clip`` on a
        floor without head fixation): the next bout starts at its end."""
        return (
            self.spec.generators[bout.entry].follows_path
            and self.stage.support.kind == "floor"
            and self.stage.head_fixed is None
        )

    def start_anchor(self, bout: Bout, fps: float, seed: int) -> RootState:
        """Where the root is at the start of a bout (see the module docstring).

        Walks back over stationary bouts to the last bout that moves the root: after a walk to an anchor (or at the
        start of the timeline) the anchor is drawn; after a path-following bout (a played clip) it is that bout's
        end, which needs that bout's own start: such bouts are collected on the way back and played forward
        (their ends are cached).
        """
        chain: list[Bout] = []
        current = bout
        while True:
            prev = self._previous(current, fps, seed)
            if prev is None:
                state = self.block_anchor(0, seed)
                break
            if self._moves(prev):
                state = self.end_target(prev, fps, seed)
                break
            if self._follows_path(prev):
                key = (prev.block, prev.index, fps, seed)
                if key in self._ends or key in self._cache:
                    state = self._ends.get(key) or end_state(self._cache[key], prev.length - 1)
                    break
                chain.append(prev)
            current = prev
        for path_bout in reversed(chain):
            clip = self._generate(path_bout, state, fps, seed)
            state = end_state(clip, path_bout.length - 1)
            self._ends[(path_bout.block, path_bout.index, fps, seed)] = state
            while len(self._ends) > 4096:
                self._ends.popitem(last=False)
        return state

    def _block_place(self, block: int, seed: int) -> Place:
        return anchor_place(_rng(seed, block, STREAM_ANCHOR), self.stage.arena, self.track)

    def block_anchor(self, block: int, seed: int) -> RootState:
        """Where the root stands when a block starts, if the blocks before it walked (drawn from ``(seed, block)``
        alone; see :mod:`synthmouse.motion.itinerary`)."""
        arena = self.stage.arena
        if arena is None or not self.stage.free:
            return RootState(0.0, 0.0, 0.0)
        if self.track is None:  # an arena too small for a wall track: anywhere
            return arena.random_state(_rng(seed, block, STREAM_ANCHOR))
        return self._block_place(block, seed).state(self.track, self.offset)

    def end_target(self, bout: Bout, fps: float, seed: int) -> RootState:
        """Where a walking bout ends (a bout for which :meth:`_moves` holds)."""
        return self.block_targets(bout.block, fps, seed)[bout.index]

    def block_targets(self, block: int, fps: float, seed: int) -> dict[int, RootState]:
        """End states of a block's walking bouts by bout index, chained from this block's anchor to the next
        one's (cheap: plans and random draws only; see :mod:`synthmouse.motion.itinerary`)."""
        key = (block, fps, seed)
        if key in self._targets:
            return self._targets[key]
        bouts = self.plan(block, fps, seed)
        legs = [b for b in bouts if self._moves(b)]
        arena = self.stage.arena
        if not legs:
            targets = {}
        elif arena is None:
            targets = {b.index: RootState(0.0, 0.0, 0.0) for b in legs}
        elif self.track is None:
            rng = _rng(seed, block, STREAM_ROUTE)
            targets = {b.index: arena.random_state(rng) for b in legs[:-1]}
            targets[legs[-1].index] = self.block_anchor(block + 1, seed)
        else:
            moving = np.array([self._moves(b) for b in bouts])
            lengths = np.array([b.length for b in bouts]) / fps
            leg_at = np.flatnonzero(moving)
            gaps = np.array(
                [lengths[a + 1 : b].sum() for a, b in zip(np.r_[-1, leg_at], np.r_[leg_at, len(bouts)], strict=True)]
            )
            speeds = np.array([getattr(self.spec.generators[b.entry], "speed", 0.12) for b in legs])
            places = block_targets(
                _rng(seed, block, STREAM_ROUTE),
                arena,
                self.track,
                lengths[leg_at],
                speeds * lengths[leg_at],
                gaps,
                self._block_place(block, seed),
                self._block_place(block + 1, seed),
            )
            targets = {b.index: place.state(self.track, self.offset) for b, place in zip(legs, places, strict=True)}
        self._targets[key] = targets
        while len(self._targets) > 64:
            self._targets.popitem(last=False)
        return targets

    # ------------------------------------------------------------------ generation
    def clip(self, bout: Bout, fps: float, seed: int) -> Clip:
        """The generated clip of a bout: ``length + blend`` frames (cached)."""
        key = (bout.block, bout.index, fps, seed)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        return self._generate(bout, self.start_anchor(bout, fps, seed), fps, seed)

    def _generate(self, bout: Bout, start: RootState, fps: float, seed: int) -> Clip:
        """Generate (and cache) a bout's clip from its start state."""
        key = (bout.block, bout.index, fps, seed)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        spec = self.spec.generators[bout.entry]
        blend = self.blend_frames(fps)
        end = self.end_target(bout, fps, seed) if self._moves(bout) else None
        if end is None and self._walks(bout):  # cut short by the block's end: walks back to where it started
            end = start
        rng = _rng(seed, bout.block, bout.index, STREAM_BOUT)
        if end is not None:
            clip = spec.generate(self.rig, bout.length, fps, rng, self.stage, start, end)
            clip = _hold_end(clip, blend)
        elif spec.follows_path:  # a recorded clip: plays its slot, then holds its last frame
            clip = _hold_end(spec.generate(self.rig, bout.length, fps, rng, self.stage, start, None), blend)
        else:
            clip = spec.generate(self.rig, bout.length + blend, fps, rng, self.stage, start, None)
        self._cache[key] = clip
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return clip

    def root_plan(self, n_frames: int, fps: float, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """``(xy (F, 2), heading (F,), generator names (F,))`` of the root in frames ``0..n_frames-1`` without
        generating the poses (cheap: paths only). Equal to :meth:`sample`'s roots on a floor, except inside the
        blends and where a behaviour tilts the root (rearing pitches it about the hips)."""
        xy, heading = np.empty((n_frames, 2)), np.empty(n_frames)
        names: list[str] = [""] * n_frames
        f = 0
        while f < n_frames:
            bout = self.bout_at(f, fps, seed)
            spec = self.spec.generators[bout.entry]
            start = self.start_anchor(bout, fps, seed)
            if self._walks(bout):
                end = self.end_target(bout, fps, seed) if self._moves(bout) else start
                path = spec.root_path(
                    self.rig, bout.length, fps, _rng(seed, bout.block, bout.index, STREAM_BOUT), self.stage, start, end
                )
                bxy, bh = path.xy, path.heading
            elif self._follows_path(bout):
                clip = self.clip(bout, fps, seed)
                bxy = clip.root[: bout.length, :2, 3]
                bh = np.arctan2(clip.root[: bout.length, 1, 0], clip.root[: bout.length, 0, 0])
            else:
                bxy, bh = np.tile([start.x, start.y], (bout.length, 1)), np.full(bout.length, start.heading)
            stop = min(n_frames, bout.start + bout.length)
            local = slice(f - bout.start, stop - bout.start)
            xy[f:stop], heading[f:stop] = bxy[local], bh[local]
            names[f:stop] = [spec.label] * (stop - f)
            f = stop
        return xy, heading, names

    def frames(
        self, start: int, stop: int, fps: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """``(angles (F, J, 3), root (F, 4, 4), segment_ids (F,), names)`` of frames ``start..stop-1``."""
        blend = self.blend_frames(fps)
        n = stop - start
        angles = np.empty((n, self.rig.n_joints, 3))
        root = np.empty((n, 4, 4))
        ids = np.empty(n, dtype=np.int64)
        names: list[str] = [""] * n
        f = start
        while f < stop:
            bout = self.bout_at(f, fps, seed)
            end = min(stop, bout.start + bout.length)
            local = np.arange(f - bout.start, end - bout.start)
            clip = self.clip(bout, fps, seed)
            a, r = clip.angles[local].copy(), clip.root[local].copy()
            prev = self._previous(bout, fps, seed)
            in_blend = local < blend
            if prev is not None and in_blend.any():
                pclip = self.clip(prev, fps, seed)
                t = local[in_blend]
                w = min_jerk((t + 1.0) / (blend + 1.0))
                a[in_blend], r[in_blend] = blend_frames(
                    pclip.angles[prev.length + t], pclip.root[prev.length + t], a[in_blend], r[in_blend], w
                )
            sl = slice(f - start, end - start)
            angles[sl], root[sl], ids[sl] = a, r, bout.segment_id
            names[sl] = [self.spec.generators[bout.entry].label] * (end - f)
            f = end
        return self.rig.clamp(angles), root, ids, names

    def sample(self, n_frames: int, fps: float, seed: int) -> tuple[Pose, np.ndarray, list[str]]:
        """``(pose, segment_ids (F,), generator_names (F,))`` of frames ``0..n_frames-1``."""
        angles, root, ids, names = self.frames(0, n_frames, fps, seed)
        return Pose(root, angles_to_matrices(angles)), ids, names

    def pose_at(self, frame: int, fps: float, seed: int) -> tuple[Pose, int, str]:
        """``(one-frame pose, segment id, generator name)`` of frame ``frame``, generating at most two bouts."""
        angles, root, ids, names = self.frames(frame, frame + 1, fps, seed)
        return Pose(root, angles_to_matrices(angles)), int(ids[0]), names[0]


def blend_frames(angles_a, root_a, angles_b, root_b, w):
    """Blend ``(n, J, 3)`` angles and ``(n, 4, 4)`` roots from a to b with weights ``w (n,)`` (0 gives a)."""
    angles = (1.0 - w)[:, None, None] * angles_a + w[:, None, None] * angles_b
    pos = (1.0 - w)[:, None] * root_a[:, :3, 3] + w[:, None] * root_b[:, :3, 3]
    ra = Rotation.from_matrix(root_a[:, :3, :3])
    delta = (ra.inv() * Rotation.from_matrix(root_b[:, :3, :3])).as_rotvec()
    rot = (ra * Rotation.from_rotvec(delta * w[:, None])).as_matrix()
    return angles, rigid(rot, pos)


def _hold_end(clip: Clip, extra: int) -> Clip:
    """Append ``extra`` frames holding the last frame (a moving bout stands at its end anchor)."""
    if extra <= 0:
        return clip
    idx = np.concatenate([np.arange(clip.n_frames), np.full(extra, clip.n_frames - 1)])
    return Clip(
        clip.angles[idx],
        clip.root[idx],
        clip.planted[idx],
        clip.moved[idx],
        clip.support,
        np.concatenate([clip.speed, np.zeros(extra)]),
    )


def _rng(*keys: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(k) for k in keys])))


# ---------------------------------------------------------------------------------------------- default mixes
# Default mixes (a scene without ``motion:`` gets the one for its stage, see default_mix). Weights are shares of
# time (percent here); the free mix's shares and bout durations approximate a C57BL/6 mouse in a novel open field,
# and its arena (the scene's, from the rig) keeps 80 % of the time in the 8 cm periphery zone: sources and
# approximations in docs/motion/README.md ("Open-field defaults").
DEFAULT_FREE_MIX: dict = {
    "generators": [
        {"type": "locomotion", "name": "walk", "gait": "walk", "weight": 30, "duration": [0.8, 2.5], "speed": 0.12},
        {
            "type": "locomotion",
            "name": "trot",
            "gait": "trot",
            "weight": 8,
            "duration": [0.6, 1.5],
            "speed": 0.2,
            "pauses": 0,
        },
        {"type": "rear", "weight": 12, "duration": [0.8, 2.0]},
        {"type": "groom", "weight": 8, "duration": [1.5, 4.0]},
        {"type": "scan", "weight": 22, "duration": [0.6, 1.5]},
        {"type": "rest", "weight": 13, "duration": [1.0, 3.0]},
        {"type": "random", "weight": 4, "duration": [0.6, 1.2], "amplitude": 0.3},
        {"type": "rare", "weight": 3, "duration": [0.6, 1.2]},
    ],
}
DEFAULT_RUNNING_MIX: dict = {  # head-fixed on a wheel or treadmill: not from a published ethogram
    "generators": [
        {"type": "locomotion", "name": "run", "gait": "trot", "weight": 40, "duration": [1.5, 4.0], "speed": 0.2},
        {"type": "locomotion", "name": "walk", "gait": "walk", "weight": 25, "duration": [1.0, 3.0], "speed": 0.1},
        {"type": "rest", "weight": 20, "duration": [0.8, 2.5], "crouch": 0.2},
        {"type": "groom", "weight": 7.5, "duration": [1.5, 3.0]},
        {"type": "reach", "name": "lick", "effector": "tongue", "weight": 7.5, "duration": [0.8, 2.0]},
    ],
}


class MixPoseProvider:
    """Poses by frame index for the dataset generator: ``sample(i) -> (pose, {"motion", "segment"})``.

    Roots are returned relative to the scene's ``body_root`` (the scene composes them with it), so the body
    stands where the motion put it in the rig's coordinates.
    """

    def __init__(self, mix: MotionMix, seed: int, fps: float, body_root: np.ndarray | None = None):
        self.mix, self.seed, self.fps = mix, int(seed), float(fps)
        self._inverse = np.linalg.inv(body_root) if body_root is not None else np.eye(4)

    def sample(self, index: int) -> tuple[Pose, dict]:
        pose, segment, name = self.mix.pose_at(int(index), self.fps, self.seed)
        return Pose(self._inverse @ pose.root, pose.rotations), {"motion": name, "segment": segment}


def default_mix(stage: Stage) -> dict:
    """The default mix (as written in YAML) for a stage: running on a belt or wheel, the open field on a floor."""
    return DEFAULT_FREE_MIX if stage.support.kind == "floor" else DEFAULT_RUNNING_MIX


class _StageSections(StrictScalarsModel):
    """The stage sections of a mix, to check a stage that did not come from a mix (a scene's rig)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    support: SupportSpec
    arena: ArenaSpec | None


def check_stage(stage: Stage, name: str = "<stage>") -> Stage:
    """``stage`` if its support and arena keep the bounds a mix allows (a wheel radius of 0.01..2 m ...).

    Raises:
        SceneError: ``name: support.radius: ...`` naming the field, the bad value and what is allowed.
    """
    support, arena = stage.support, stage.arena
    data = {
        "support": {"type": support.kind, "height": support.height, "radius": support.radius},
        "arena": None
        if arena is None
        else {
            "x": (arena.x_min, arena.x_max),
            "y": (arena.y_min, arena.y_max),
            "margin": arena.margin,
            "periphery": arena.periphery,
            "periphery_width": arena.periphery_width,
            "wall_distance": arena.wall_distance,
        },
    }
    try:
        _StageSections.model_validate(data)
    except ValidationError as exc:
        raise SceneError(format_validation_error(exc, name, data, model=_StageSections, what=name)) from None
    return stage
