"""Semi-random joint-constrained movement (the core of Bolaños et al., Nature Methods 2021).

Every movable joint follows smooth spline noise in limit-normalised space around a centre posture, so all angles
stay inside the joint limits, with couplings that keep the body plausible (a smoothly bent spine, head and neck
turning together, a travelling wave along the tail, optional left/right symmetry). The root stays where it
starts; the body is lifted, smoothly, wherever a paw or the tail would go below the floor.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from .base import Clip, RootState, Stage, stance_root
from .kinematics import ground, keep_head_above, keep_tail_above, random_angles
from .rig import MotionRig
from .spec import GeneratorSpec


class SemiRandomSpec(GeneratorSpec):
    """Smooth random movement of every joint group inside the joint limits.

    Attributes:
        amplitude: 0 keeps the centre posture, 1 spreads each joint over nearly its whole range.
        timescale: seconds between independent noise knots (larger is slower).
        symmetry: 0 moves left and right limbs independently, 1 mirrors the left side onto the right.
        group_amplitude: per base group multipliers of ``amplitude`` (``{tail: 1.5, jaw: 0}``).
        centre: the posture the noise is centred on: ``standing`` or ``rest`` (the model's rest pose).
        grounded: rest the body on the floor: lowered or lifted so its lowest point (the tail aside) touches it.
    """

    type: Literal["random"] = "random"
    amplitude: float = Field(0.4, ge=0.0, le=1.0)
    timescale: float = Field(0.5, gt=0.02, le=10.0)
    symmetry: float = Field(0.0, ge=0.0, le=1.0)
    group_amplitude: dict[str, float] = Field(default_factory=dict)
    centre: Literal["standing", "rest"] = "standing"
    grounded: bool = True

    def generate(
        self,
        rig: MotionRig,
        n_frames: int,
        fps: float,
        rng: np.random.Generator,
        stage: Stage | None = None,
        start: RootState | None = None,
        end: RootState | None = None,
    ) -> Clip:
        stage = stage or Stage()
        start = start or RootState()
        posture = rig.standing
        centre = posture.angles if self.centre == "standing" else np.zeros_like(posture.angles)
        angles = random_angles(
            rig, centre, n_frames, fps, rng, self.amplitude, self.timescale, self.symmetry, self.group_amplitude
        )
        root = stance_root(posture, start, n_frames)
        root[:, 2, 3] += stage.support.top
        if self.grounded:
            root = ground(rig, angles, root, stage.support.top, fps, settle=True)
            if stage.support.kind == "floor":
                angles = keep_tail_above(rig, angles, root, stage.support.top, fps)
                angles = keep_head_above(rig, angles, root, stage.support.top, fps, clearance=0.0)
        return Clip.still(angles, root, stage.support)
