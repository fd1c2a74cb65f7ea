"""Anatomical joint groups shared by every body (SAM, the parametric mouse, glTF rigs with a group map).

Motion generators, joint limits and body-part masks address joints through these groups, never through the
joint names of one model. A limb group is named after the joint where the rotation happens (``hip_l`` is the
femur's joint at the hip, ``knee_l`` the tibia's joint at the knee), ``_l``/``_r`` being the animal's left/right.
"""

from __future__ import annotations

SIDES = ("l", "r")

AXIAL_GROUPS = ("root", "pelvis", "spine", "neck", "head", "jaw", "tongue", "tail")
LIMB_GROUPS = (
    "scapula",
    "shoulder",
    "elbow",
    "wrist",
    "fore_digits",
    "hip",
    "knee",
    "ankle",
    "hind_digits",
    "ear",
)
FIXED_GROUP = "fixed"  # helper bones and leaf ("_end") joints that never rotate on their own

GROUPS: tuple[str, ...] = AXIAL_GROUPS + tuple(f"{g}_{s}" for g in LIMB_GROUPS for s in SIDES) + (FIXED_GROUP,)

# Coarse body parts for segmentation masks; each group maps to one part. Part 0 is the background.
PART_OF_GROUP: dict[str, str] = {
    "root": "trunk",
    "pelvis": "trunk",
    "spine": "trunk",
    "fixed": "trunk",
    "neck": "head",
    "head": "head",
    "jaw": "head",
    "tongue": "head",
    "ear_l": "ear_l",
    "ear_r": "ear_r",
    "tail": "tail",
    **{f"{g}_{s}": f"forelimb_{s}" for g in ("scapula", "shoulder", "elbow") for s in SIDES},
    **{f"{g}_{s}": f"forepaw_{s}" for g in ("wrist", "fore_digits") for s in SIDES},
    **{f"{g}_{s}": f"hindlimb_{s}" for g in ("hip", "knee") for s in SIDES},
    **{f"{g}_{s}": f"hindpaw_{s}" for g in ("ankle", "hind_digits") for s in SIDES},
}
PARTS: tuple[str, ...] = (
    "background",
    "trunk",
    "head",
    "ear_l",
    "ear_r",
    "tail",
    "forelimb_l",
    "forelimb_r",
    "forepaw_l",
    "forepaw_r",
    "hindlimb_l",
    "hindlimb_r",
    "hindpaw_l",
    "hindpaw_r",
)


def mirror_group(group: str) -> str:
    """The contralateral group (``elbow_l`` <-> ``elbow_r``); axial groups map to themselves."""
    if group.endswith("_l"):
        return group[:-2] + "_r"
    if group.endswith("_r"):
        return group[:-2] + "_l"
    return group
