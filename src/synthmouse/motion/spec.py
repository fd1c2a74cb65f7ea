"""Base class of generator specifications (pydantic v2): the parameters a user writes in a motion mix."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import ConfigDict, Field, field_validator

from ..io.schema import StrictScalarsModel
from .base import Clip, RootState, Stage
from .rig import MotionRig

MAX_BOUT_SECONDS = 3600.0


class GeneratorSpec(StrictScalarsModel):
    """Parameters common to every generator.

    Attributes:
        type: the generator kind (the discriminator in a mix file).
        name: a label for this entry (default: its type); segment names in a mix use it.
        weight: relative probability of this entry in a mix (> 0).
        duration: ``[min, max]`` seconds of one bout in a mix.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    moves_root: ClassVar[bool] = False  # the bout ends somewhere else than it started (paths, gaits)
    follows_path: ClassVar[bool] = False  # the root follows the bout's own (recorded) path and ends where it ends

    type: str
    name: str | None = Field(None, max_length=100)
    weight: float = Field(1.0, gt=0.0, le=1e6)
    duration: tuple[float, float] = (2.0, 4.0)

    @field_validator("duration")
    @classmethod
    def _check_duration(cls, value: tuple[float, float]) -> tuple[float, float]:
        lo, hi = value
        if not 0.0 < lo <= hi <= MAX_BOUT_SECONDS:
            raise ValueError(
                f"duration must be [min, max] seconds with 0 < min <= max <= {MAX_BOUT_SECONDS:g}, got {list(value)}"
            )
        return value

    @property
    def label(self) -> str:
        return self.name or self.type

    def generate(
        self,
        rig: MotionRig,
        n_frames: int,
        fps: float,
        rng: np.random.Generator,
        stage: Stage | None = None,
        start: RootState | None = None,
        end: RootState | None = None,
    ) -> Clip:  # pragma: no cover - abstract
        """Make ``n_frames`` frames at ``fps``; ``start``/``end`` are where the root starts and (for generators
        that move the root) should end."""
        raise NotImplementedError
