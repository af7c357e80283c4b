"""The 178-keypoint skeleton as pose-format ``.pose`` files: named header, conversion both ways, export.

Written files have four components, in skeleton slot order, named as MediaPipe Holistic and
pose-format's own holistic files name them, so pose-format's tools find the points by name:

* ``POSE_LANDMARKS`` (slots 0-7): ``RIGHT_SHOULDER``, ``RIGHT_ELBOW``, ``RIGHT_WRIST``,
  ``LEFT_SHOULDER``, ``LEFT_ELBOW``, ``LEFT_WRIST``, ``RIGHT_HIP``, ``LEFT_HIP`` (MediaPipe
  ``PoseLandmark`` names; the person's sides)
* ``RIGHT_HAND_LANDMARKS`` (8-28), ``LEFT_HAND_LANDMARKS`` (29-49): MediaPipe ``HandLandmark``
  names, ``WRIST``, ``THUMB_CMC`` ... ``PINKY_TIP``
* ``FACE_LANDMARKS`` (50-177): the FaceMesh index of each point as its name (``"0"``, ``"7"``, ...),
  as pose-format names face points; ascending mesh index, like the skeleton's face slots

Sequences from SLRTP challenge files (skeleton source ``slrtp_poses``, or a file whose ``skeleton``
attribute says ``slrtp178``) hold the same 128 face points in the challenge's own, unpublished
order, so their face cannot carry mesh-index names: it is written as ``SLRTP_FACE`` with points
``face0`` ... ``face127`` (the challenge's keypoint names) and no limbs. Such files are not read back
as a ``pose_files`` dataset (use kind ``slrtp_poses`` for the challenge's own files).

Points are x, y, z (``XYZC``) in the skeleton's units (neck-centred shoulder widths for this
pipeline's skeletons and predictions); confidence is 1.0 for a valid joint and 0.0 for a masked one;
fps is the sequence's frame rate. The header's canvas size is 0 x 0 x 0 (the points are not pixels).

Reading (:func:`pose_to_skeleton`) finds the 178 points by component and point name, in any
component order and among any other points, so files with pose-format's full holistic layout
(33 pose, 468 or 478 face, 2 x 21 hand points, plus world landmarks, which are not used) read
as well as the files written here. A point counts as present where its confidence is > 0; 2-D files
get z = 0.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pipelib import provenance
from pipelib.errors import DataError
from pipelib.estimators.landmarks import FINGER_CHAINS
from pipelib.io import shards
from pipelib.io.atomic import atomic_dir
from pipelib.io.pose_file import PoseComponent, PoseFile, read_pose_file, to_bytes
from pipelib.skeletons.config import SkeletonConfig
from pipelib.skeletons.layout import (
    BODY_NAMES,
    FACE_FROM_MESH,
    L_SHOULDER,
    N_JOINTS,
    N_VALUES,
    R_SHOULDER,
)
from pipelib.skeletons.normalise import normalise

log = logging.getLogger("pipelib.skeletons")

POSE_COMPONENT = "POSE_LANDMARKS"
RIGHT_HAND_COMPONENT = "RIGHT_HAND_LANDMARKS"
LEFT_HAND_COMPONENT = "LEFT_HAND_LANDMARKS"
FACE_COMPONENT = "FACE_LANDMARKS"
SLRTP_FACE_COMPONENT = "SLRTP_FACE"

#: MediaPipe ``PoseLandmark`` name of each body slot 0-7.
BODY_POINTS: tuple[str, ...] = tuple(name.upper() for name in BODY_NAMES)
#: MediaPipe ``HandLandmark`` names, in hand landmark order (the order of slots 8-28 and 29-49).
HAND_POINTS: tuple[str, ...] = (
    "WRIST",
    "THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP",
    "INDEX_FINGER_MCP", "INDEX_FINGER_PIP", "INDEX_FINGER_DIP", "INDEX_FINGER_TIP",
    "MIDDLE_FINGER_MCP", "MIDDLE_FINGER_PIP", "MIDDLE_FINGER_DIP", "MIDDLE_FINGER_TIP",
    "RING_FINGER_MCP", "RING_FINGER_PIP", "RING_FINGER_DIP", "RING_FINGER_TIP",
    "PINKY_MCP", "PINKY_PIP", "PINKY_DIP", "PINKY_TIP",
)
#: FaceMesh index of each face slot 50-177, as a point name.
FACE_POINTS: tuple[str, ...] = tuple(str(i) for i in FACE_FROM_MESH)
#: Names of the face slots of SLRTP challenge poses, whose mesh index per slot is not published.
SLRTP_FACE_POINTS: tuple[str, ...] = tuple(f"face{i}" for i in range(len(FACE_FROM_MESH)))

#: ``(component, point)`` of every skeleton slot 0-177.
SLOT_POINTS: tuple[tuple[str, str], ...] = (
    tuple((POSE_COMPONENT, p) for p in BODY_POINTS)
    + tuple((RIGHT_HAND_COMPONENT, p) for p in HAND_POINTS)
    + tuple((LEFT_HAND_COMPONENT, p) for p in HAND_POINTS)
    + tuple((FACE_COMPONENT, p) for p in FACE_POINTS)
)
assert len(SLOT_POINTS) == N_JOINTS

#: Body limbs as pairs of body slots: shoulder line, both arms, shoulders to hips, hip line.
BODY_LIMBS: tuple[tuple[int, int], ...] = ((0, 3), (0, 1), (1, 2), (3, 4), (4, 5), (0, 6), (3, 7), (6, 7))
#: Hand limbs within a hand: each finger's chain from the wrist (0) to its tip.
HAND_LIMBS: tuple[tuple[int, int], ...] = tuple(
    pair for chain in FINGER_CHAINS.values()
    for pair in zip((0, *chain[:-1]), chain, strict=True)
)
#: Component colours (RGB) for pose-format's viewers.
COLOURS: dict[str, tuple[int, int, int]] = {
    POSE_COMPONENT: (30, 90, 150), RIGHT_HAND_COMPONENT: (210, 40, 40), LEFT_HAND_COMPONENT: (40, 150, 40),
    FACE_COMPONENT: (90, 90, 90), SLRTP_FACE_COMPONENT: (90, 90, 90),
}
CORPUS_FILE = "corpus.csv"
CORPUS_HEADER: tuple[str, ...] = ("name", "split", "text", "gloss", "speaker", "file")
PROVENANCE_FILE = "provenance.json"


class PoseLayoutError(DataError):
    """A ``.pose`` file lacks points the 178-keypoint skeleton needs; the message names them and the file."""


@functools.cache
def face_limbs() -> tuple[tuple[int, int], ...]:
    """MediaPipe's ``FACEMESH_CONTOURS`` edges as pairs of face points (0-127), sorted."""
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_CONTOURS

    where = {mesh: i for i, mesh in enumerate(FACE_FROM_MESH)}
    return tuple(sorted((where[a], where[b]) for a, b in FACEMESH_CONTOURS))


def skeleton_components(mesh_order: bool = True) -> tuple[PoseComponent, ...]:
    """The four named components of a skeleton ``.pose`` file, in slot order; the face is
    ``SLRTP_FACE`` (``face0`` ...) when its slots are not in ascending mesh order (SLRTP poses)."""
    face = (PoseComponent(FACE_COMPONENT, FACE_POINTS, face_limbs(), COLOURS[FACE_COMPONENT])
            if mesh_order else
            PoseComponent(SLRTP_FACE_COMPONENT, SLRTP_FACE_POINTS, (), COLOURS[SLRTP_FACE_COMPONENT]))
    return (
        PoseComponent(POSE_COMPONENT, BODY_POINTS, BODY_LIMBS, COLOURS[POSE_COMPONENT]),
        PoseComponent(RIGHT_HAND_COMPONENT, HAND_POINTS, HAND_LIMBS, COLOURS[RIGHT_HAND_COMPONENT]),
        PoseComponent(LEFT_HAND_COMPONENT, HAND_POINTS, HAND_LIMBS, COLOURS[LEFT_HAND_COMPONENT]),
        face,
    )


def face_in_mesh_order(file_attrs: Mapping[str, Any], video_attrs: Mapping[str, Any]) -> bool:
    """Whether a sequence's face slots hold FaceMesh points in ascending mesh index (skeletons built by
    this pipeline) rather than in the SLRTP challenge's order: the sequence's ``source`` attribute
    decides where it has one (skeleton files), else the file's ``skeleton`` attribute (``slrtp178``:
    challenge order)."""
    source = video_attrs.get("source")
    if source is not None:
        return source != "slrtp_poses"
    return file_attrs.get("skeleton") != "slrtp178"


def skeleton_to_pose(poses: np.ndarray, joint_mask: np.ndarray, fps: float,
                     mesh_order: bool = True) -> PoseFile:
    """``poses (T, 178, 3)`` and ``joint_mask (T, 178)`` bool at ``fps`` frames/s -> a :class:`PoseFile`
    with the named components (:func:`skeleton_components`; ``mesh_order`` False for SLRTP poses);
    masked joints get confidence 0 and coordinates 0."""
    poses = np.asarray(poses, dtype=np.float32)
    joint_mask = np.asarray(joint_mask, dtype=bool)
    if poses.ndim != 3 or poses.shape[1:] != (N_JOINTS, 3):
        raise ValueError(f"poses must be (T, {N_JOINTS}, 3), got {poses.shape}")
    if joint_mask.shape != poses.shape[:2]:
        raise ValueError(f"joint_mask must be {poses.shape[:2]}, got {joint_mask.shape}")
    points = np.where(joint_mask[..., None], poses, 0.0).astype(np.float32)            # (T, 178, 3)
    return PoseFile(points, joint_mask.astype(np.float32), float(fps), skeleton_components(mesh_order))


def missing_points(pose: PoseFile) -> list[str]:
    """``component.point`` names of the skeleton slots ``pose`` lacks (empty if it has all 178)."""
    have = pose.index()
    return [f"{c}.{p}" for c, p in SLOT_POINTS if (c, p) not in have]


def pose_to_skeleton(pose: PoseFile, source: str = "?") -> tuple[np.ndarray, np.ndarray]:
    """``(joints (T, 178, 3) float32, present (T, 178) bool)``: the skeleton's points picked from
    ``pose`` by name, in the file's units; present = confidence > 0; z = 0 for 2-D files.

    Raises :class:`PoseLayoutError` naming ``source`` and the missing points if a slot's
    ``(component, point)`` is not in the file.
    """
    missing = missing_points(pose)
    if missing:
        comps = sorted({m.split(".", 1)[0] for m in missing})
        raise PoseLayoutError(
            f"{source} lacks {len(missing)} of the {N_JOINTS} skeleton points (components "
            f"{', '.join(comps)}; e.g. {', '.join(missing[:3])}); it needs the MediaPipe Holistic "
            f"components {POSE_COMPONENT}, {RIGHT_HAND_COMPONENT}, {LEFT_HAND_COMPONENT} and "
            f"{FACE_COMPONENT} with MediaPipe point names (pose-format's holistic layout, or "
            f"pipelib.skeletons.pose_io.export_pose_files)"
        )
    have = pose.index()
    cols = np.array([have[key] for key in SLOT_POINTS])                                  # (178,)
    joints = np.zeros((pose.n_frames, N_JOINTS, 3), dtype=np.float32)                    # (T, 178, 3)
    d = pose.points.shape[2]
    joints[..., :d] = pose.points[:, cols]
    return joints, pose.confidence[:, cols] > 0


def read_pose_skeleton(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, float]:
    """``(joints (T, 178, 3), present (T, 178), fps)`` of a ``.pose`` file (see :func:`pose_to_skeleton`)."""
    pose = read_pose_file(path)
    joints, present = pose_to_skeleton(pose, str(path))
    return joints, present, pose.fps


def pose_file_skeleton(path: str | os.PathLike[str], cfg: SkeletonConfig | Mapping[str, Any] | None = None,
                       video_id: str = "?") -> tuple[np.ndarray, np.ndarray]:
    """``(poses (T, 178, 3) float32, joint_mask (T, 178) bool)`` of a ``.pose`` file, normalised as
    the skeletons stage normalises MediaPipe skeletons.

    A frame counts as having a pose where both shoulders are present and finite; frames without one
    are masked whole. Each frame is centred on its neck and, for ``scale: shoulder_width``, divided by
    the sequence's median shoulder width (a no-op, up to rounding, for skeletons this pipeline
    exported); ``depth: false`` sets z = 0. Joints are taken as the file marks them: no gap is
    interpolated. Non-finite values of present joints are left for the stage's
    :func:`~pipelib.skeletons.write.checked_joints` to mask and count.
    """
    cfg = SkeletonConfig.coerce(cfg)
    joints, present = read_pose_skeleton(path)[:2]
    shoulders = joints[:, [R_SHOULDER, L_SHOULDER]]                                       # (T, 2, 3)
    has_pose = present[:, [R_SHOULDER, L_SHOULDER]].all(axis=1) & np.isfinite(shoulders).all(axis=(1, 2))
    safe = np.where(has_pose[:, None, None], joints, 0.0)                                # (T, 178, 3)
    out = normalise(safe.astype(np.float64), has_pose, cfg.scale, video_id)
    out = np.where(has_pose[:, None, None], out, 0.0)
    if not cfg.depth:
        out[..., 2] = 0.0
    joint_mask = present & has_pose[:, None]                                              # (T, 178)
    out[~joint_mask] = 0.0            # present joints holding NaN/Inf keep them, for the stage's check
    return out.astype(np.float32), joint_mask


# ---- export ------------------------------------------------------------------------------------

def _corpus_field(value: str, video_id: str, column: str) -> str:
    if "|" in value or "\n" in value or "\r" in value:
        raise ValueError(f"video {video_id}: its {column} {value!r} holds '|' or a line break, which "
                         f"{CORPUS_FILE} ('|'-separated, one row per line) cannot store")
    return value.strip()


def _usual_permissions(folder: Path) -> None:
    """Give ``folder`` the permissions a plain ``mkdir`` would (a temporary directory starts as 0700)."""
    mask = os.umask(0)
    os.umask(mask)
    folder.chmod(0o777 & ~mask)


def export_pose_files(results_h5: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
                      fps: float | None = None, splits: Iterable[str] | None = None) -> int:
    """Write every sequence of a skeletons or predictions file as ``<out_dir>/<id>.pose``.

    ``results_h5``: ``results/<ds>/production/skeletons.h5`` (poses with a joint mask) or
    ``predictions_phase*.h5`` (generated poses; every frame valid), any file of
    :mod:`pipelib.io.shards` layout whose features are (T, 534) poses. ``splits`` restricts the
    export to those splits. fps: each sequence's ``fps`` attribute, else ``fps`` (predictions do not
    record one: pass the dataset's frame rate). Beside the files, ``corpus.csv`` (``|``-separated,
    header ``name|split|text|gloss|speaker|file``) makes the folder a ``pose_files`` dataset, and
    ``provenance.json`` records the source file, its provenance and this export. SLRTP challenge
    sequences get an ``SLRTP_FACE`` component (:func:`face_in_mesh_order`). The folder is replaced as
    a whole once complete. Returns the number of sequences written.
    """
    results_h5 = Path(results_h5)
    wanted = None if splits is None else set(splits)
    file_attrs = shards.read_attrs(results_h5)
    rows: list[str] = ["|".join(CORPUS_HEADER)]
    written = 0
    with atomic_dir(out_dir) as tmp:
        _usual_permissions(tmp)
        for v in shards.iter_videos(results_h5, extras=("joint_mask",)):
            split = str(v.attrs.get("split", ""))
            if wanted is not None and split not in wanted:
                continue
            if v.features.shape[1] != N_VALUES:
                raise ValueError(f"{results_h5}: video {v.video_id} has {v.features.shape[1]} values per "
                                 f"frame, not the {N_VALUES} of 178-keypoint poses; export a skeletons or "
                                 f"predictions file")
            rate = v.attrs.get("fps", fps)
            if rate is None:
                raise ValueError(f"{results_h5}: video {v.video_id} records no fps; pass fps= (the dataset's "
                                 f"frame rate, e.g. 25 for PHOENIX-2014-T)")
            poses = v.features.reshape(v.n_frames, N_JOINTS, 3)                             # (T, 178, 3)
            jm = v.extras.get("joint_mask")
            joint_mask = (np.asarray(jm, dtype=bool) if jm is not None
                          else np.repeat(v.mask[:, None], N_JOINTS, axis=1))                # (T, 178)
            joint_mask = joint_mask & v.mask[:, None]
            pose = skeleton_to_pose(poses, joint_mask, float(rate), face_in_mesh_order(file_attrs, v.attrs))
            (tmp / f"{v.video_id}.pose").write_bytes(to_bytes(pose))
            fields = [v.video_id, split, str(v.attrs.get("text", "")), str(v.attrs.get("gloss", "")),
                      str(v.attrs.get("signer", "")), f"{v.video_id}.pose"]
            rows.append("|".join(_corpus_field(f, v.video_id, c) for f, c in zip(fields, CORPUS_HEADER,
                                                                                  strict=True)))
            written += 1
        if not written:
            which = "" if wanted is None else f" of split(s) {', '.join(sorted(wanted))}"
            raise ValueError(f"{results_h5} holds no sequence{which}; nothing to export to {out_dir}")
        (tmp / CORPUS_FILE).write_text("\n".join(rows) + "\n", encoding="utf-8")
        record = provenance.collect(
            {"export": "pose_files", "fps": fps, "splits": None if wanted is None else sorted(wanted)},
            inputs=[results_h5],
            extra={"source": str(results_h5), "source_provenance": file_attrs.get("provenance"),
                   "sequences": written},
        )
        (tmp / PROVENANCE_FILE).write_text(json.dumps(record, indent=1, sort_keys=True, default=str) + "\n",
                                           encoding="utf-8")
    log.info("exported %d sequences of %s to %s", written, results_h5, out_dir)
    return written
