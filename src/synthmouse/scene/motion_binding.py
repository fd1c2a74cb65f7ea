"""A scene's motion: its motion mix bound to its body and its stage.

The scene decides where the mouse moves (:attr:`Scene.stage`, derived from the rig by
:func:`synthmouse.scene.build.rig_stage`); the mix decides how. The mix's own ``support``, ``arena`` and
``head_fixed`` sections, where it writes them, override the rig's (:meth:`MotionMixSpec.stage`).
"""

from __future__ import annotations

from ..motion.mix import MixPoseProvider, MotionMix, MotionMixSpec, check_stage, default_mix, load_mix_spec
from .build import Scene

MOTION_FIELD = "motion"  # names the mix in errors (the scene's section)


def scene_mix(scene: Scene) -> MotionMixSpec:
    """The scene's motion mix, or the default mix for its stage (running on a belt or wheel, the open-field
    mix on a floor) when the scene has no ``motion:``."""
    if scene.motion is not None:
        return scene.motion
    return load_mix_spec(default_mix(scene.stage), MOTION_FIELD)


def scene_motion(scene: Scene, seed: int, fps: float | None = None) -> MixPoseProvider:
    """The scene's motion as a pose provider: ``sample(i) -> (pose, {"motion", "segment"})`` with roots
    relative to ``scene.body_root`` (:meth:`Scene.place` composes them back).

    Args:
        scene: a built scene.
        seed: the dataset seed (frame ``i`` depends on ``(seed, i)`` only).
        fps: frames per second; None: the mix's ``fps``.

    Raises:
        SceneError: a stage the mix cannot move on (``motion: support.radius: ...`` for a wheel too small),
            or a recorded clip that does not fit the body.
    """
    mix = scene_mix(scene)
    stage = check_stage(mix.stage(scene.stage), MOTION_FIELD)
    return MixPoseProvider(MotionMix(mix, scene.body, stage), seed, fps or mix.fps, scene.body_root)


__all__ = ["scene_mix", "scene_motion"]
