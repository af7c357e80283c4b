"""The synthetic corpus: PHOENIX-2014-T layout, determinism, lexicon, grammar, motion, signers."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipelib.io.shards import read_attrs, read_video, video_ids
from pipelib.synth import KEYPOINT_NAMES, LEXICON, SynthConfig, generate, render_sentence
from pipelib.synth.appearance import appearance
from pipelib.synth.articulators import INDEX, PARAM_NAMES
from pipelib.synth.corpus import CSV_HEADER, SPLITS
from pipelib.synth.figure import pose_figure
from pipelib.synth.grammar import sample_sentence
from pipelib.synth.lexicon import minimal_pairs, sign_keyframes
from pipelib.synth.motion import build_timeline, coarticulate, hermite
from pipelib.synth.signers import SignerStyle, signer_style

TINY = {"n_train": 3, "n_dev": 1, "n_test": 3, "n_signers": 3, "min_glosses": 3, "max_glosses": 3}


def _tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """The tiny corpus twice with one seed (rendered by one process, then by two) and once with another."""
    out = {}
    for key, seed, workers in (("a", 11, 1), ("a2", 11, 2), ("b", 12, 1)):
        root = tmp_path_factory.mktemp(f"synth_{key}")
        out[key] = (root, generate(root, SynthConfig.from_dict({**TINY, "seed": seed}), workers=workers))
    return out


def _rows(corpus: Path, split: str) -> tuple[str, list[list[str]]]:
    text = (corpus / "annotations" / "manual" / f"PHOENIX-2014-T.{split}.corpus.csv").read_text("utf-8")
    lines = text.splitlines()
    return lines[0], [ln.split("|") for ln in lines[1:]]


def test_config_rejects_unknown_and_impossible_values() -> None:
    with pytest.raises(ValueError, match="n_sentences"):
        SynthConfig.from_dict({"n_sentences": 3})
    with pytest.raises(ValueError, match="n_test"):
        SynthConfig.from_dict({"n_test": 2, "n_signers": 3})
    cfg = SynthConfig.from_dict({"speed_range": [0.9, 1.1], "seed": 5})
    assert cfg.speed_range == (0.9, 1.1) and cfg.seed == 5 and cfg.n_train == 192


def test_layout_csv_frames_and_keypoints(corpora) -> None:
    root, summary = corpora["a"]
    corpus = root / "PHOENIX-2014-T"
    assert sorted(p.name for p in corpus.iterdir()) == ["annotations", "features"]
    assert sorted(p.name for p in (corpus / "annotations" / "manual").iterdir()) == [
        f"PHOENIX-2014-T.{s}.corpus.csv" for s in ("dev", "test", "train")]
    assert sorted(p.name for p in (corpus / "features" / "fullFrame-210x260px").iterdir()) == [
        "dev", "test", "train"]
    gt = root / "groundtruth" / "keypoints.h5"
    assert read_attrs(gt)["keypoint_names"] == list(KEYPOINT_NAMES)
    speakers = {}
    for split in SPLITS:
        header, rows = _rows(corpus, split)
        assert header == CSV_HEADER == "name|video|start|end|speaker|orth|translation"
        assert len(rows) == summary["splits"][split]["sentences"]
        speakers[split] = {r[4] for r in rows}
        for name, video, start, end, speaker, orth, translation in rows:
            assert video == f"{name}/1/*.png" and (start, end) == ("-1", "-1")
            assert re.fullmatch(r"Signer\d\d", speaker)
            assert orth == orth.upper() and all(g in LEXICON for g in orth.split(" "))
            assert translation == translation.lower() and translation.endswith(" .")
            folder = corpus / "features" / "fullFrame-210x260px" / split / name
            assert not (folder / "1").exists()
            files = sorted(p.name for p in folder.iterdir())
            assert files == [f"images{t:04d}.png" for t in range(1, len(files) + 1)]
            img = cv2.imread(str(folder / files[0]), cv2.IMREAD_UNCHANGED)
            assert img.shape == (260, 210, 3) and img.dtype == np.uint8
            video = read_video(gt, name)
            assert video.features.shape == (len(files), 2 * len(KEYPOINT_NAMES))
            assert video.mask.all()
            assert (video.attrs["signer"], video.attrs["split"], video.attrs["gloss"]) == (
                speaker, split, orth)
            xy = video.features.reshape(len(files), -1, 2)
            assert (xy[..., 0] >= 0).all() and (xy[..., 0] <= 209).all()
            assert (xy[..., 1] >= 0).all() and (xy[..., 1] <= 259).all()
    assert speakers["train"] == speakers["test"] == {"Signer01", "Signer02", "Signer03"}
    assert len(video_ids(gt)) == summary["sentences"]


def test_same_seed_identical_different_seed_differs(corpora) -> None:
    (ra, _), (ra2, _), (rb, _) = corpora["a"], corpora["a2"], corpora["b"]
    ha, ha2, hb = (_tree_hashes(r / "PHOENIX-2014-T") for r in (ra, ra2, rb))
    assert ha == ha2
    csv = "annotations/manual/PHOENIX-2014-T.train.corpus.csv"
    assert ha[csv] != hb[csv]
    shared_pngs = [k for k in ha if k.endswith(".png") and k in hb]
    assert any(ha[k] != hb[k] for k in shared_pngs)


def _citation_track(gloss: str, look, style=None) -> np.ndarray:
    """Keypoints (16, K, 2) of a sign's citation form (or as ``style`` signs it), start to end."""
    keys = sign_keyframes(gloss, style=style)
    times = np.linspace(0.0, 1.0, len(keys))
    stops = np.zeros(len(keys), dtype=bool)
    stops[[0, -1]] = True
    params = hermite(times, keys, stops, np.linspace(0.0, 1.0, 16))
    return np.stack([pose_figure(p, look).keypoints() for p in params])


def test_lexicon_has_30_distinct_signs() -> None:
    assert len(LEXICON) >= 30
    look = appearance(0)
    tracks = {gloss: _citation_track(gloss, look) for gloss in LEXICON}
    names = sorted(tracks)
    # Every two signs look different somewhere: some keypoint (a fingertip at least) moves >= 8 px.
    closest = min(
        (float(np.max(np.linalg.norm(tracks[a] - tracks[b], axis=-1))), a, b)
        for i, a in enumerate(names) for b in names[i + 1:]
    )
    assert closest[0] > 8.0, f"{closest[1]} and {closest[2]} move almost alike ({closest[0]:.2f} px at most)"
    brows = {float(sign_keyframes(g)[0, INDEX["brows"]]) for g in LEXICON}
    assert len({LEXICON[g].mouth for g in LEXICON}) >= 3 and min(brows) < 0 < max(brows)


# Parameter fields each articulator may change; anything else must be equal within a minimal pair.
_FIELDS = {
    "handshape": tuple(f"{h}_{f}" for h in ("right", "left") for f in
                       ("curl_thumb", "curl_index", "curl_middle", "curl_ring", "curl_pinky", "spread")),
    "orientation": ("right_rot", "left_rot"),
    "location": ("right_x", "right_y", "left_x", "left_y"),
}


def test_minimal_pairs_differ_only_in_the_intended_articulator() -> None:
    pairs = minimal_pairs()
    assert len(pairs.get("handshape", [])) >= 10, pairs  # regions, numbers, weather, temperature, time
    assert len(pairs.get("orientation", [])) >= 2 and len(pairs.get("location", [])) >= 2, pairs
    look = appearance(1)
    hand = [i for i, n in enumerate(KEYPOINT_NAMES) if "_hand_" in n]
    wrists = [KEYPOINT_NAMES.index(n) for n in ("right_hand_wrist", "left_hand_wrist")]
    for articulator, field_names in _FIELDS.items():
        allowed = [INDEX[f] for f in field_names]
        others = [i for i in range(len(PARAM_NAMES)) if i not in allowed]
        for a, b in pairs[articulator]:
            ka, kb = sign_keyframes(a), sign_keyframes(b)
            assert ka.shape == kb.shape, (a, b)  # one movement
            assert np.array_equal(ka[:, others], kb[:, others]), (articulator, a, b)  # face included
            assert not np.allclose(ka[:, allowed], kb[:, allowed]), (articulator, a, b)
            ta, tb = _citation_track(a, look), _citation_track(b, look)
            moved = np.linalg.norm(ta - tb, axis=-1)                                # (16, K)
            if articulator == "location":
                assert moved[:, wrists].max() > 8.0, (a, b)
            else:  # fingers move, the wrists stay: the difference lies in the hand alone
                assert moved[:, wrists].max() < 1e-4 and moved[:, hand].max() > 8.0, (articulator, a, b)
                assert moved[:, [i for i in range(len(KEYPOINT_NAMES)) if i not in hand]].max() < 1e-4


def test_signer_styles_are_seeded_and_change_articulation() -> None:
    assert signer_style(1, 2014) == signer_style(1, 2014)
    styles = [signer_style(i, 2014) for i in range(3)]
    assert len({(s.dx, s.laxness, s.tempo) for s in styles}) == 3
    assert signer_style(1, 2014) != signer_style(1, 2015)
    assert signer_style(2, 2014, variation=0.0) == SignerStyle()
    lax = SignerStyle(laxness=0.15)
    assert np.allclose(lax.curls(np.array([0.0, 0.9])), [0.15, 0.75])  # straight bends, bent opens
    # A signer's version of a sign departs from the citation form, yet less than from its minimal pair.
    look = appearance(0)
    cite, other = _citation_track("NORD", look), _citation_track("SUED", look)
    mine = _citation_track("NORD", look, styles[2])
    assert np.abs(mine - cite).max() > 1.0
    tip = KEYPOINT_NAMES.index("right_hand_middle_tip")  # extended in SUED (v), bent in NORD (index)
    shape = lambda t: t[:, tip] - t[:, KEYPOINT_NAMES.index("right_hand_wrist")]  # noqa: E731
    assert np.abs(shape(mine) - shape(cite)).max() < np.abs(shape(other) - shape(cite)).max()


def test_neighbouring_signs_assimilate_their_locations() -> None:
    glosses = ("MORGEN", "STARK")  # cheek, then chest: STARK starts higher after MORGEN
    keys = [sign_keyframes(g) for g in glosses]
    y = INDEX["right_y"]
    moved = coarticulate(glosses, keys, 0.25)
    assert moved[1][0, y] < keys[1][0, y]  # carried over from the higher previous sign
    assert np.isclose(moved[1][-1, y], keys[1][-1, y])  # and faded out by the sign's end
    assert moved[0][-1, y] > keys[0][-1, y]  # the first sign anticipates the lower next one
    assert all(np.array_equal(m, k) for m, k in zip(coarticulate(glosses, keys, 0.0), keys, strict=True))


def test_translation_matches_glosses_with_different_order() -> None:
    rng = np.random.default_rng(0)
    reordered = 0
    for _ in range(300):
        s = sample_sentence(rng, 3, 6)
        assert 3 <= len(s.glosses) <= 6
        words = s.translation.split(" ")
        assert s.translation == s.translation.lower() and words[-1] == "."
        positions = []
        for g in s.glosses:
            hits = [i for i, w in enumerate(words) if LEXICON[g].stem in w]
            assert hits, f"{g} has no word in {s.translation!r}"
            positions.append(hits[0])
        stems = [LEXICON[g].stem for g in s.glosses]
        assert any(not any(st in w for st in stems) for w in words[:-1]), "no word without a gloss"
        reordered += positions != sorted(positions)
    assert reordered > 100


def test_transitions_are_smooth_and_speed_varies() -> None:
    cfg = SynthConfig()
    glosses = ("HEUTE", "NORD", "REGEN", "STARK")
    lengths, speeds = [], []
    for seed in range(12):
        tl = build_timeline(glosses, cfg, np.random.default_rng(seed))
        lengths.append(tl.n_frames)
        speeds.append(tl.speed)
        assert len(set(np.round(tl.sign_speeds, 6))) == len(glosses)  # per-sign factors differ
        wrist = tl.params[:, [INDEX["right_x"], INDEX["right_y"]]]
        for (_, _, end), (_, start, _) in zip(tl.segments, tl.segments[1:], strict=False):
            path = wrist[end - 1:start]  # last hold frame .. the frame before the next sign
            assert len(path) >= 3, "a transition needs in-between frames"
            d_from = np.linalg.norm(path - path[0], axis=1)
            d_to = np.linalg.norm(path - path[-1], axis=1)
            assert np.all(np.diff(d_from) > -1e-6) and np.all(np.diff(d_to) < 1e-6)
            steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
            # (co-articulation shortens some transitions to a few pixels: those may take one step)
            assert steps.max() < 0.75 * d_from[-1] + 0.1, "one frame jumps most of the way"
    assert len(set(lengths)) > 4
    assert np.corrcoef(speeds, lengths)[0, 1] < -0.5  # faster sentences are shorter


def test_signers_look_different_and_render_sentence_shapes() -> None:
    looks = [appearance(i) for i in range(4)]
    for a, b in ((0, 1), (0, 2), (1, 2)):
        la, lb = looks[a], looks[b]
        assert la.skin != lb.skin and la.shirt != lb.shirt and la.background != lb.background
        assert la.head_rx != lb.head_rx and la.shoulder_half != lb.shoulder_half
    assert looks[3].name == "Signer04"
    cfg = SynthConfig()
    frames, kps = render_sentence(["MORGEN", "SONNE"], 1, cfg, seed=3)
    assert kps.shape == (len(frames), len(KEYPOINT_NAMES), 2) and kps.dtype == np.float32
    assert all(f.shape == (260, 210, 3) and f.dtype == np.uint8 for f in frames)
    for name in ("right_shoulder", "left_elbow", "right_wrist", "left_hand_index_tip",
                 "right_hand_pinky_mcp", "right_hand_thumb_tip", "left_eye", "nose", "mouth_left"):
        assert name in KEYPOINT_NAMES
    # Ground truth sits on the drawing: the palm centre is skin-coloured.
    skin = np.array(appearance(1).skin, dtype=float)
    i, j = KEYPOINT_NAMES.index("right_hand_wrist"), KEYPOINT_NAMES.index("right_hand_middle_mcp")
    on_skin = []
    for f, k in zip(frames, kps, strict=True):
        x, y = np.round(0.5 * (k[i] + k[j])).astype(int)
        on_skin.append(np.abs(f[y, x].astype(float) - skin).max() < 40)
    assert np.mean(on_skin) > 0.9
    again, kps2 = render_sentence(["MORGEN", "SONNE"], 1, cfg, seed=3)
    assert np.array_equal(kps, kps2) and all(np.array_equal(a, b) for a, b in zip(frames, again, strict=True))
