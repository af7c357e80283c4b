"""The 178-keypoint SLRTP skeleton: slot ranges and the MediaPipe Holistic landmark behind each slot."""

from __future__ import annotations

from pipelib.estimators.landmarks import FACEMESH_CONTOUR_INDICES, HAND_NAMES, POSE

N_JOINTS = 178
N_VALUES = N_JOINTS * 3  # 534 values per frame, the layout the SLRTP evaluator flattens

BODY = slice(0, 8)
RIGHT_HAND = slice(8, 29)
LEFT_HAND = slice(29, 50)
FACE = slice(50, 178)

#: Skeleton parts in slot order; ``PART_SLICES[i]`` are the slots of part ``PARTS[i]``.
PARTS: tuple[str, ...] = ("body", "right_hand", "left_hand", "face")
PART_SLICES: tuple[slice, ...] = (BODY, RIGHT_HAND, LEFT_HAND, FACE)

#: Slots 0-7: RShoulder, RElbow, RWrist, LShoulder, LElbow, LWrist, RHip, LHip (the person's sides).
BODY_NAMES: tuple[str, ...] = (
    "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "left_hip",
)
#: MediaPipe pose index of each body slot: (12, 14, 16, 11, 13, 15, 24, 23).
BODY_FROM_POSE: tuple[int, ...] = tuple(POSE[name] for name in BODY_NAMES)

R_SHOULDER, L_SHOULDER = 0, 3  # body slots the normalisation uses

#: FaceMesh index of each face slot 50-177: the 128 ``FACEMESH_CONTOURS`` indices in ascending order.
#: SLRTP does not publish its own face slot order, so this order is ours.
FACE_FROM_MESH: tuple[int, ...] = FACEMESH_CONTOUR_INDICES

#: One name per slot, e.g. ``right_shoulder``, ``right_hand.thumb_tip``, ``face.0`` (FaceMesh index).
JOINT_NAMES: tuple[str, ...] = (
    BODY_NAMES
    + tuple(f"right_hand.{n}" for n in HAND_NAMES)
    + tuple(f"left_hand.{n}" for n in HAND_NAMES)
    + tuple(f"face.{i}" for i in FACE_FROM_MESH)
)

assert len(BODY_FROM_POSE) == BODY.stop and len(FACE_FROM_MESH) == FACE.stop - FACE.start
assert len(JOINT_NAMES) == N_JOINTS


# --------------------------------------------------------------------------------------------- layouts
#
# Two 178-point layouts share slots 0-49 (body and hands, above) and differ in the face slots 50-177:
#
# * ``holistic178``: what this pipeline builds from MediaPipe Holistic; face slot 50 + i holds FaceMesh
#   point ``FACE_FROM_MESH[i]`` (ascending mesh index).
# * ``slrtp178``: the SLRTP 2025 challenge pose files. Its face slots hold the same 128 FaceMesh contour
#   points in an order the challenge does not publish (``make_128_face_from_478.py`` applies an
#   ``order_128`` permutation that its repository never defines), so face slot i of one layout is not
#   face slot i of the other. Only the challenge's drawing edges are public
#   (walsharry/SLRTP_Skeleton_Keypoint_information ``keypoint_def.py``: 146 edges, 96 among face
#   slots, of which 7 coincide with ``FACEMESH_CONTOURS`` edges under the ascending order).
#
# Files record their layout (skeleton and prediction HDF5 files: attribute ``skeleton``; exported
# .pt entries: key ``layout``) and evaluation compares layouts before poses meet a model or ground
# truth of another layout.

HOLISTIC = "holistic178"
SLRTP = "slrtp178"
LAYOUTS: dict[str, str] = {
    HOLISTIC: "built by this pipeline from MediaPipe Holistic: face = FACEMESH_CONTOURS points in "
              "ascending mesh index",
    SLRTP: "the SLRTP 2025 challenge files: same body and hands, face points in the challenge's own "
           "(unpublished) order",
}


def check_layout(name: object, where: str) -> str:
    """``name`` if it is a known layout; ValueError naming ``where`` and the known layouts otherwise."""
    if name not in LAYOUTS:
        raise ValueError(f"{where}: skeleton layout {name!r} is unknown; use one of {', '.join(LAYOUTS)} "
                         f"({'; '.join(f'{k}: {v}' for k, v in LAYOUTS.items())})")
    return str(name)


def layout_mismatch(poses: str | None, other: str | None, what: str) -> str:
    """A sentence saying that poses of layout ``poses`` meet ``what`` of layout ``other``; '' if they match
    or either is unknown (None)."""
    if poses is None or other is None or poses == other:
        return ""
    return (f"{poses} poses meet {what} of layout {other}: their face slots (50-177) hold the same points "
            f"in different orders")


# SLRTP's drawing edges, as polylines over slots (a closed loop ends at its start); the facts of
# keypoint_def.py ``EDGES``, grouped into chains.
_SLRTP_BODY: tuple[tuple[int, ...], ...] = ((2, 1, 0, 3, 4, 5), (0, 6, 7, 3))
#: In hand-local indices (0 = wrist): thumb, the palm loop through the four finger bases, four fingers.
_SLRTP_HAND: tuple[tuple[int, ...], ...] = (
    (0, 1, 2, 3, 4), (0, 5, 9, 13, 17, 0), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20),
)
_SLRTP_FACE: tuple[tuple[int, ...], ...] = (
    (126, 127, 96, 97, 150, 151, 169, 114, 115, 116, 171, 133, 88, 89, 93, 94, 67, 68, 132, 117, 118, 177,
     145, 134, 135, 137, 75, 76, 139, 98, 99, 136, 109, 110, 154, 174, 126),
    (147, 77, 78, 152, 153, 122, 121, 144, 143, 161, 147),
    (70, 69, 146, 57, 56, 158, 111, 112, 155, 176, 70),
    (82, 81, 125, 124, 106, 105, 164, 173, 141, 142, 128, 129, 168, 113, 79, 80, 87, 86, 163, 162, 82),
    (95, 130, 55, 54, 84, 51, 50, 62, 61, 167, 166, 172, 175, 140, 58, 59, 123, 165, 91, 92, 95),
)


def slrtp_chains() -> dict[str, tuple[tuple[int, ...], ...]]:
    """SLRTP's drawing edges per part (``body``, ``right_hand``, ``left_hand``, ``face``), as polylines."""
    def hand(first: int) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(first + j for j in chain) for chain in _SLRTP_HAND)

    return {"body": _SLRTP_BODY, "right_hand": hand(RIGHT_HAND.start), "left_hand": hand(LEFT_HAND.start),
            "face": _SLRTP_FACE}


def chain_edges(chains: tuple[tuple[int, ...], ...]) -> set[frozenset[int]]:
    """The undirected slot pairs drawn by ``chains``."""
    return {frozenset(pair) for chain in chains for pair in zip(chain[:-1], chain[1:], strict=True)}
