"""The four articulator regions of the 178-joint SLRTP skeleton, and split / merge between the two forms.

Regions, in latent order (joint slots from :mod:`pipelib.skeletons.layout`):

* ``body``: slots 0, 1, 3, 4, 6, 7 (shoulders, elbows, hips): 6 joints, 18 values. The body wrists
  (slots 2 and 5) are left out as in the DARSLP reference, since the hand roots carry them.
* ``right_hand``: slots 8-28, 21 joints, 63 values
* ``left_hand``: slots 29-49, 21 joints, 63 values
* ``face``: slots 50-177, 128 joints, 384 values

:func:`merge_regions` rebuilds all 178 slots: the body wrists are copied from the hand roots (right
wrist slot 2 <- slot 8, left wrist slot 5 <- slot 29). Both functions take numpy arrays or torch
tensors with any leading shape.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

from pipelib.skeletons.layout import BODY, FACE, LEFT_HAND, N_JOINTS, PARTS, RIGHT_HAND

Array = TypeVar("Array", np.ndarray, torch.Tensor)

#: Region names in latent order (the skeleton's part names).
REGIONS: tuple[str, ...] = PARTS

R_WRIST, L_WRIST = 2, 5  # body slots dropped from the body region
BODY_KEEP: tuple[int, ...] = tuple(j for j in range(BODY.start, BODY.stop) if j not in (R_WRIST, L_WRIST))

#: Skeleton slots of each region, in the order their values are flattened.
REGION_JOINTS: dict[str, tuple[int, ...]] = {
    "body": BODY_KEEP,
    "right_hand": tuple(range(RIGHT_HAND.start, RIGHT_HAND.stop)),
    "left_hand": tuple(range(LEFT_HAND.start, LEFT_HAND.stop)),
    "face": tuple(range(FACE.start, FACE.stop)),
}
assert tuple(REGION_JOINTS) == REGIONS

#: Flattened input width of each region (joints x 3): body 18, hands 63, face 384.
REGION_DIMS: dict[str, int] = {name: 3 * len(joints) for name, joints in REGION_JOINTS.items()}


def _merge_index() -> tuple[int, ...]:
    """For each of the 178 slots, its position in the regions concatenated in order (176 joints)."""
    pos: dict[int, int] = {}
    for joint in (j for name in REGIONS for j in REGION_JOINTS[name]):
        pos[joint] = len(pos)
    pos[R_WRIST] = pos[RIGHT_HAND.start]
    pos[L_WRIST] = pos[LEFT_HAND.start]
    return tuple(pos[j] for j in range(N_JOINTS))


MERGE_INDEX: tuple[int, ...] = _merge_index()


def split_regions(poses: Array) -> dict[str, Array]:
    """``poses: (..., 178, 3)`` -> ``{region: (..., J_r, 3)}`` (J_r = 6, 21, 21, 128)."""
    if poses.shape[-2:] != (N_JOINTS, 3):
        raise ValueError(f"poses must have shape (..., {N_JOINTS}, 3), got {tuple(poses.shape)}")
    return {name: poses[..., list(joints), :] for name, joints in REGION_JOINTS.items()}


def split_joint_mask(joint_mask: Array) -> dict[str, Array]:
    """``joint_mask: (..., 178)`` -> ``{region: (..., J_r)}``."""
    if joint_mask.shape[-1] != N_JOINTS:
        raise ValueError(f"joint_mask must have shape (..., {N_JOINTS}), got {tuple(joint_mask.shape)}")
    return {name: joint_mask[..., list(joints)] for name, joints in REGION_JOINTS.items()}


def merge_regions(parts: dict[str, Array]) -> Array:
    """``{region: (..., J_r, 3)}`` -> ``(..., 178, 3)``; body wrists taken from the hand roots."""
    missing = [name for name in REGIONS if name not in parts]
    if missing:
        raise ValueError(f"merge_regions needs every region; missing {missing}")
    for name in REGIONS:
        want = (len(REGION_JOINTS[name]), 3)
        if tuple(parts[name].shape[-2:]) != want:
            raise ValueError(f"region {name} must have shape (..., {want[0]}, 3), "
                             f"got {tuple(parts[name].shape)}")
    ordered = [parts[name] for name in REGIONS]
    if isinstance(ordered[0], torch.Tensor):
        joined = torch.cat(ordered, dim=-2)                                   # (..., 176, 3)
    else:
        joined = np.concatenate(ordered, axis=-2)                             # (..., 176, 3)
    return joined[..., list(MERGE_INDEX), :]                                  # (..., 178, 3)
