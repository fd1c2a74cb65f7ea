"""Landmarks the retarget tests and the docs harness fit to."""

from __future__ import annotations

LANDMARKS = [
    "nose",
    "left_ear_tip",
    "right_ear_tip",
    "neck",
    "body_middle",
    "tail_root",
    "tail_middle",
    "left_paw",
    "right_paw",
    "left_foot",
    "right_foot",
    "left_shoulder",
    "right_shoulder",
    "left_hip",
    "right_hip",
]
