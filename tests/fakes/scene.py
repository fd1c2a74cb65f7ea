"""A wheel scene and a still-pose motion double for scene-source tests."""

from __future__ import annotations

import numpy as np

SCENE = {
    "rig": {"type": "wheel"},
    "cameras": [
        {
            "name": "side",
            "width": 96,
            "height": 72,
            "fov_deg": 40,
            "distortion": [-0.2, 0.05, 0, 0, 0],
            "look_at": {"eye": [0.02, -0.25, 0.045], "target": [0.0, 0.0, 0.018]},
        },
        {
            "name": "front",
            "width": 80,
            "height": 64,
            "fov_deg": 45,
            "look_at": {"eye": [0.22, -0.05, 0.06], "target": [0.0, 0.0, 0.02]},
        },
    ],
    "randomization": {"light.intensity_scale": [0.6, 1.4], "camera.position_m": [-0.002, 0.002]},
}


class StillPoses:
    """TEST DOUBLE for the motion mix: the rest pose turned by a seeded yaw, segments of three frames."""

    fps = 30.0

    def __init__(self, scene, seed: int):
        self.scene, self.seed = scene, seed

    def sample(self, index: int):
        from scipy.spatial.transform import Rotation

        from synthmouse.body import Pose

        segment = index // 3
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, segment, 99]))
        yaw = rng.uniform(-0.3, 0.3) + 0.05 * (index % 3)
        pose = self.scene.body.rest_pose()
        root = pose.root.copy()
        root[0, :3, :3] = Rotation.from_euler("z", yaw).as_matrix()
        return Pose(root, pose.rotations), {"motion": "still_test_double", "segment": segment, "yaw": yaw}
