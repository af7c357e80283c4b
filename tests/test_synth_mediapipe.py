"""MediaPipe Holistic finds the synthetic signers, and its wrists land on the rendered ground truth.

Convention checked here: the signer faces the camera, so the signer's right hand is drawn on the
image's left, and MediaPipe's ``right_hand_landmarks`` / pose landmark 16 (right wrist) are the
signer's right, matching our ``right_*`` keypoints.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipelib.synth import KEYPOINT_NAMES, SynthConfig, render_sentence

mp = pytest.importorskip("mediapipe")
cv2 = pytest.importorskip("cv2")

SENTENCES = {  # signer -> two short sentences covering many locations, handshapes and minimal pairs
    0: (("HEUTE", "NORD", "REGEN"), ("MORGEN", "WEST", "WARM", "ZWANZIG")),
    1: (("ABEND", "SUED", "SCHNEE"), ("NACHT", "OST", "KALT", "NULL")),
    2: (("TAG", "BERG", "SONNE"), ("WOCHENENDE", "KUESTE", "SCHAUER", "ZEHN")),
}
PARTS = ("pose", "face", "left_hand", "right_hand")


def _run(frames: list[np.ndarray]) -> list[dict]:
    out = []
    with mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1) as holistic:
        for frame in frames:
            r = holistic.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            h, w = frame.shape[:2]
            found = {p: getattr(r, f"{p}_landmarks") is not None for p in PARTS}
            xy = {}
            for side in ("left", "right"):
                hand = getattr(r, f"{side}_hand_landmarks")
                if hand is not None:
                    xy[f"hand_{side}"] = (hand.landmark[0].x * w, hand.landmark[0].y * h)
            if r.pose_landmarks is not None:
                lm = r.pose_landmarks.landmark
                xy["pose_right"] = (lm[16].x * w, lm[16].y * h)
                xy["pose_left"] = (lm[15].x * w, lm[15].y * h)
            out.append({"found": found, "xy": xy})
    return out


@pytest.fixture(scope="module")
def detections() -> dict[int, list[tuple[dict, np.ndarray]]]:
    cfg = SynthConfig()
    result: dict[int, list[tuple[dict, np.ndarray]]] = {}
    for signer, sentences in SENTENCES.items():
        result[signer] = []
        for k, glosses in enumerate(sentences):
            frames, kps = render_sentence(glosses, signer, cfg, seed=10 * signer + k)
            result[signer] += list(zip(_run(frames), kps, strict=True))
    return result


def test_holistic_detects_pose_face_and_both_hands(detections) -> None:
    rates = {}
    for signer, rows in detections.items():
        for part in PARTS:
            rates[signer, part] = float(np.mean([d["found"][part] for d, _ in rows]))
    for part in PARTS:
        overall = np.mean([d["found"][part] for rows in detections.values() for d, _ in rows])
        assert overall >= 0.95, f"{part} found on {overall:.1%} of frames"
    assert min(rates.values()) >= 0.9, rates


def test_holistic_wrists_match_ground_truth(detections) -> None:
    gt = {"hand_right": "right_hand_wrist", "hand_left": "left_hand_wrist",
          "pose_right": "right_wrist", "pose_left": "left_wrist"}
    errors: dict[str, list[float]] = {k: [] for k in gt}
    for rows in detections.values():
        for d, kps in rows:
            for key, (x, y) in d["xy"].items():
                errors[key].append(float(np.hypot(*(np.array([x, y]) - kps[KEYPOINT_NAMES.index(gt[key])]))))
    median = {k: float(np.median(v)) for k, v in errors.items()}
    assert median["hand_right"] <= 4.0 and median["hand_left"] <= 4.0, median
    assert median["pose_right"] <= 8.0 and median["pose_left"] <= 8.0, median
