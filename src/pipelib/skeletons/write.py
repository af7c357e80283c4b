"""``write_skeletons``: every manifest sequence of a dataset as a 178-keypoint skeleton in one HDF5.

Videos (media ``frames``/``video``) are built from the MediaPipe Holistic shards with
:func:`~pipelib.skeletons.build.build_skeleton`. SLRTP challenge poses (media ``poses``) are already
normalised by the challenge and pass through unchanged (z set to 0 when ``depth`` is false).
pose-format ``.pose`` files (media ``pose_file``) are read by point name and neck-centred and scaled
like MediaPipe skeletons (:func:`~pipelib.skeletons.pose_io.pose_file_skeleton`). Every
skeleton is then checked (:func:`checked_joints`): joints holding NaN/Inf are masked, joints beyond
``max_abs_value`` are masked or refused (``out_of_range``), and each video with masked joints is
logged and listed in the file attribute ``input_checks``. A sequence that cannot be built goes to the
file's failure table with its reason.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelib.datasets import slrtp
from pipelib.datasets.errors import DatasetError
from pipelib.datasets.records import POSE_MEDIA
from pipelib.datasets.values import InputValueError, ValueCheck, mask_bad_values
from pipelib.io import shards
from pipelib.io.pose_file import PoseFileError
from pipelib.skeletons.build import build_skeleton
from pipelib.skeletons.config import SkeletonConfig
from pipelib.skeletons.layout import BODY, HOLISTIC, N_JOINTS, N_VALUES, SLRTP
from pipelib.skeletons.pose_io import PoseLayoutError, pose_file_skeleton

log = logging.getLogger("pipelib.skeletons")

HOLISTIC_EXTRAS = ("pose", "face", "left_hand", "right_hand", "part_mask")
Path_ = str | os.PathLike[str]


def holistic_index(paths: Iterable[Path_]) -> tuple[dict[str, str], dict[str, str]]:
    """``({video id: shard path}, {failed video id: reason})`` over the MediaPipe shards."""
    where: dict[str, str] = {}
    failed: dict[str, str] = {}
    for p in map(str, paths):
        for vid in shards.video_ids(p):
            if vid in where:
                raise ValueError(f"video {vid} is in two MediaPipe shards, {where[vid]} and {p}; "
                                 f"pass the shards of one dataset once each")
            where[vid] = p
        failed.update(shards.read_failures(p))
    return where, failed


class _SplitCache:
    """The entries of the last SLRTP .pt file read (a manifest lists one split file after another)."""

    def __init__(self) -> None:
        self.path: str | None = None
        self.data: dict[str, Any] = {}

    def entry(self, path: str, video_id: str) -> dict[str, Any]:
        if path != self.path:
            self.data = {str(k): v for k, v in slrtp.load_split(Path(path)).items()}
            self.path = path
        if video_id not in self.data:
            raise ValueError(f"{path} has no entry {video_id!r}; rebuild the manifest")
        return self.data[video_id]


def checked_joints(poses: np.ndarray, joint_mask: np.ndarray, cfg: SkeletonConfig, video_id: str,
                   source: str) -> tuple[np.ndarray, np.ndarray, ValueCheck]:
    """``(poses, joint_mask, check)`` with joints holding NaN/Inf or a coordinate beyond
    ``cfg.max_abs_value`` masked (and set to 0); under ``out_of_range: refuse`` the latter raise
    :class:`InputValueError` naming the video and ``source`` instead. poses (T, 178, 3), mask (T, 178)."""
    check = mask_bad_values(poses, joint_mask, cfg.max_abs_value)
    if check.out_of_range and cfg.out_of_range == "refuse":
        raise InputValueError(
            f"{source}: video {video_id!r} has {check.out_of_range} joint(s) with a coordinate of magnitude "
            f"up to {check.max_abs:g}, beyond skeletons.max_abs_value = {cfg.max_abs_value:g}; fix those "
            f"poses, or set skeletons.out_of_range: mask to mask such joints and go on"
        )
    valid = check.valid
    return np.where(valid[..., None], check.values, 0.0).astype(np.float32), valid, check


def slrtp_skeleton(entry: Mapping[str, Any], cfg: SkeletonConfig, video_id: str = "?", source: str = "?",
                   ) -> tuple[np.ndarray, np.ndarray, ValueCheck]:
    """``(poses (F, 178, 3) float32, joint_mask (F, 178) bool, check)`` of one SLRTP entry, as given
    but for the joints :func:`checked_joints` masks."""
    poses = np.array(slrtp.poses_array(entry["poses_3d"]), dtype=np.float32)   # (F, 178, 3)
    if poses.ndim != 3 or poses.shape[1:] != (N_JOINTS, 3):
        raise ValueError(f"video {video_id}: poses_3d has shape {poses.shape}, expected (F, {N_JOINTS}, 3)")
    if not cfg.depth:
        poses[..., 2] = 0.0
    return checked_joints(poses, np.ones(poses.shape[:2], dtype=bool), cfg, video_id, source)


def _report(video_id: str, source: str, check: ValueCheck, cfg: SkeletonConfig) -> dict[str, Any]:
    """One ``input_checks`` row for a video with masked joints, logged as a warning."""
    log.warning("video %s (%s): masked %d joint(s) holding NaN/Inf (%d values) and %d joint(s) with a "
                "coordinate beyond skeletons.max_abs_value = %g (largest finite |value| %g)", video_id,
                source, check.nonfinite, check.nonfinite_values, check.out_of_range, cfg.max_abs_value,
                check.max_abs)
    return {"video": video_id, "source": source, **check.as_dict()}


def _video(video_id: str, poses: np.ndarray, joint_mask: np.ndarray, attrs: dict[str, Any],
           ) -> shards.VideoArrays:
    t = poses.shape[0]
    return shards.VideoArrays(
        video_id=video_id,
        features=poses.reshape(t, N_VALUES),                                   # (T, 534)
        mask=joint_mask[:, BODY].all(axis=1),                                  # (T,) frame has a body
        extras={"joint_mask": joint_mask},                                     # (T, 178)
        attrs=attrs,
    )


def manifest_layout(manifest: pd.DataFrame) -> str:
    """The skeleton layout a manifest's sequences give: ``slrtp178`` for SLRTP pose files (media
    ``poses``), ``holistic178`` for videos. A manifest mixing the two is refused: one file, one layout."""
    media = set(manifest["media"].astype(str)) if len(manifest) else set()
    if "poses" in media and media - {"poses"}:
        raise ValueError(f"the manifest mixes SLRTP pose files with videos ({sorted(media)}); their face "
                         f"slots differ ({SLRTP} vs {HOLISTIC}), so they cannot share one skeleton file: "
                         f"make them two datasets")
    return SLRTP if media == {"poses"} else HOLISTIC


def write_skeletons(
    holistic_shards: Iterable[Path_], manifest: pd.DataFrame, out_path: Path_,
    cfg: SkeletonConfig | Mapping[str, Any] | None, provenance: Mapping[str, Any],
) -> dict[str, Any]:
    """Write the skeleton of every ``manifest`` row into ``out_path`` (layout of :mod:`pipelib.io.shards`).

    Per video: features (T, 534) float32 = poses (T, 178, 3) flattened, mask (T,) = frame has a body,
    extra ``joint_mask`` (T, 178), attrs split, text, gloss, signer, fps, name, source. File attrs:
    skeleton (the layout, :func:`manifest_layout`), config (the ``skeletons`` section), provenance.
    ``holistic_shards`` may be empty for a dataset of SLRTP poses. Returns a summary: videos, written,
    failed, frames, joint_coverage (fraction of unmasked joints over all frames), masked_nonfinite and
    masked_out_of_range (joints masked by :func:`checked_joints`, also listed per video in the file
    attribute ``input_checks``), body_frames ({split: frames with a body}).
    """
    cfg = SkeletonConfig.coerce(cfg)
    where, upstream = holistic_index(holistic_shards)
    cache = _SplitCache()
    checks: list[dict[str, Any]] = []  # filled below; the writer encodes its attrs when it closes
    attrs = {"skeleton": manifest_layout(manifest), "joints": N_JOINTS, "config": cfg.as_dict(),
             "input_checks": checks,
             "provenance": dict(provenance)}
    n_frames = n_joints_ok = 0
    body_frames = {str(s): 0 for s in manifest["split"].unique()}
    with shards.ShardWriter(out_path, attrs=attrs) as writer:
        for row in manifest.itertuples(index=False):
            vid = str(row.id)
            meta = {"split": str(row.split), "text": str(row.text), "gloss": str(row.gloss),
                    "signer": str(row.signer), "fps": float(row.fps), "name": vid}
            try:
                if row.media == "poses":
                    entry = cache.entry(str(row.source), vid)
                    poses, joint_mask, check = slrtp_skeleton(entry, cfg, vid, str(row.source))
                    meta.update(name=str(entry.get("name", vid)), source="slrtp_poses")
                elif row.media == "pose_file":
                    built = pose_file_skeleton(str(row.source), cfg, vid)
                    poses, joint_mask, check = checked_joints(*built, cfg, vid, str(row.source))
                    meta.update(source="pose_file")
                else:
                    if vid not in where:
                        why = upstream.get(vid, "it is in none of the MediaPipe shards given")
                        raise ValueError(f"no MediaPipe result: {why}")
                    hol = shards.read_video(where[vid], vid, extras=HOLISTIC_EXTRAS)
                    poses, joint_mask, check = checked_joints(*build_skeleton(hol, cfg), cfg, vid, where[vid])
                    meta.update(source="mediapipe_holistic", image_size=hol.attrs.get("image_size"))
            except (ValueError, DatasetError, OSError, PoseFileError, PoseLayoutError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
                writer.fail(vid, reason)
                log.warning("%s failed: %s", vid, reason)
                continue
            if check.masked:
                checks.append(_report(vid, str(row.source) if row.media in POSE_MEDIA else where[vid],
                                      check, cfg))
            video = _video(vid, poses, joint_mask, meta)
            writer.write(video)
            n_frames += poses.shape[0]
            n_joints_ok += int(joint_mask.sum())
            body_frames[meta["split"]] += int(video.mask.sum())
        n_failed = writer.n_failed
    summary = {"videos": len(manifest), "written": len(manifest) - n_failed, "failed": n_failed,
               "frames": n_frames, "joint_coverage": n_joints_ok / max(n_frames * N_JOINTS, 1),
               "masked_nonfinite": sum(c["nonfinite"] for c in checks),
               "masked_out_of_range": sum(c["out_of_range"] for c in checks), "body_frames": body_frames}
    log.info("skeletons written to %s: %s", out_path, summary)
    for split, n in body_frames.items():
        if n == 0:
            log.warning("split %s has no frame with a body in %s: training or scoring on it will fail",
                        split, out_path)
    return summary
