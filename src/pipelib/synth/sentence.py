"""Render one sentence in memory: glosses -> timeline -> frames and ground-truth keypoints."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipelib.synth.appearance import Appearance, appearance
from pipelib.synth.config import SynthConfig
from pipelib.synth.figure import KEYPOINT_NAMES, pose_figure
from pipelib.synth.motion import Timeline, build_timeline
from pipelib.synth.render import draw
from pipelib.synth.signers import signer_style


def render_timeline(timeline: Timeline, look: Appearance, cfg: SynthConfig
                    ) -> tuple[list[np.ndarray], np.ndarray]:
    """Frames (each (H, W, 3) uint8 BGR) and keypoints (T, K, 2) float32 pixels of a timeline."""
    frames: list[np.ndarray] = []
    kps = np.empty((timeline.n_frames, len(KEYPOINT_NAMES), 2), dtype=np.float32)
    for t, params in enumerate(timeline.params):
        fig = pose_figure(params, look, cfg.width, cfg.height)
        frames.append(draw(fig, look, cfg.width, cfg.height, cfg.render_scale))
        kps[t] = fig.keypoints()
    return frames, kps


def render_sentence(glosses: Sequence[str], signer: int, cfg: SynthConfig | None = None,
                    seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Render ``glosses`` signed by signer ``signer`` (0-based).

    Returns frames, a list of T (height, width, 3) uint8 BGR images, and keypoints
    (T, K, 2) float32 pixel coordinates named by :data:`KEYPOINT_NAMES`. Same arguments give the
    same output; ``seed`` drives speed, timing and the small variations of each sign; the signer's
    style comes from ``cfg.seed`` as in the corpus.
    """
    cfg = cfg or SynthConfig()
    style = signer_style(signer, cfg.seed, cfg.signer_variation)
    timeline = build_timeline(tuple(glosses), cfg, np.random.default_rng(seed), style)
    return render_timeline(timeline, appearance(signer, cfg.seed), cfg)
