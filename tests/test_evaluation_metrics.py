"""SLRTP 2025 metrics: hand-computed values on small inputs, DTW paths, 12.5 fps subsampling."""

import math

import numpy as np
import pytest
from sacrebleu.metrics import BLEU

from pipelib.evaluation import dtw, metrics

# --- DTW --------------------------------------------------------------------------------------------


def _frames(values):
    """1-D values -> (T, 1, 3) poses whose first coordinate is the value (Euclidean = |difference|)."""
    out = np.zeros((len(values), 1, 3))
    out[:, 0, 0] = values
    return out


@pytest.mark.parametrize("align", [dtw.dtw_exact, dtw.fastdtw])
def test_dtw_finds_the_zero_cost_path(align):
    # x repeats 0 once and 2 once relative to y: the only zero-cost path stretches those frames
    dist, path = align(_frames([0, 1, 2]), _frames([0, 0, 1, 2, 2]))
    assert dist == 0.0
    assert path == [(0, 0), (0, 1), (1, 2), (2, 3), (2, 4)]


@pytest.mark.parametrize("align", [dtw.dtw_exact, dtw.fastdtw])
def test_dtw_known_cost_and_path(align):
    # the fastdtw package's documented example: |x - y|, total 2 = |1-2| + |5-4|
    dist, path = align(np.array([[1.0], [2], [3], [4], [5]]), np.array([[2.0], [3], [4]]))
    assert dist == pytest.approx(2.0)
    assert path == [(0, 0), (1, 0), (2, 1), (3, 2), (4, 2)]


@pytest.mark.parametrize("align", [dtw.dtw_exact, dtw.fastdtw])
def test_dtw_ties_prefer_advancing_x_then_y_then_both(align):
    # all paths cost 0; the first-minimum rule over ((i-1, j), (i, j-1), (i-1, j-1)) walks the edges
    assert align(np.zeros((2, 3)), np.zeros((2, 3)))[1] == [(0, 0), (0, 1), (1, 1)]
    assert align(np.zeros((5, 3)), np.zeros((4, 3)))[1] == [
        (0, 0), (0, 1), (0, 2), (0, 3), (1, 3), (2, 3), (3, 3), (4, 3)]


def test_fastdtw_matches_the_fastdtw_package_where_it_is_not_optimal():
    # reference output of fastdtw 0.3.4 (pure Python) with radius 1 on this pair; exact DTW gives 31
    x = np.array([5, 9, 9, 7, 0, 2, 7, 5, 9, 7, 8, 0], float)[:, None]
    y = np.array([2, 6, 6, 3, 1, 5, 0, 6, 8], float)[:, None]
    dist, path = dtw.fastdtw(x, y, radius=1)
    assert dist == pytest.approx(34.0)
    assert path == [(0, 0), (1, 1), (2, 2), (3, 2), (4, 3), (5, 4), (6, 5), (7, 5), (8, 6), (9, 7),
                    (10, 8), (11, 8)]
    assert dtw.dtw_exact(x, y)[0] == pytest.approx(31.0)


def test_exact_and_fastdtw_agree_when_the_window_covers_everything():
    rng = np.random.default_rng(0)
    for _ in range(5):
        x, y = rng.normal(size=(8, 4, 3)), rng.normal(size=(8, 4, 3))
        # coarse 4x4 is solved exactly (4 < radius + 2) and radius 3 widens its path to the whole grid
        assert dtw.fastdtw(x, y, radius=3) == dtw.dtw_exact(x, y)


def test_fastdtw_is_an_upper_bound_on_exact_dtw():
    rng = np.random.default_rng(1)
    for n, m in [(17, 9), (30, 41), (3, 25)]:
        x, y = rng.normal(size=(n, 6)), rng.normal(size=(m, 6))
        exact, _ = dtw.dtw_exact(x, y)
        approx, path = dtw.fastdtw(x, y, radius=1)
        assert approx >= exact - 1e-9
        cost = sum(np.linalg.norm(x[i] - y[j]) for i, j in path)
        assert approx == pytest.approx(cost)  # distance is the returned path's cost
        assert path[0] == (0, 0) and path[-1] == (n - 1, m - 1)
        steps = np.diff(np.asarray(path), axis=0)
        assert set(map(tuple, steps)) <= {(1, 0), (0, 1), (1, 1)}


def test_dtw_rejects_bad_input():
    with pytest.raises(ValueError, match="radius"):
        dtw.fastdtw(np.zeros((4, 3)), np.zeros((4, 3)), radius=0)
    with pytest.raises(ValueError, match="frame sizes"):
        dtw.dtw_exact(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        dtw.dtw_exact(np.full((2, 3), np.nan), np.zeros((2, 3)))


# --- DTW-MJE ----------------------------------------------------------------------------------------


def test_dtw_mje_pools_all_aligned_pairs_of_all_sequences():
    # sequence 1: one frame pair; joint 0 off by (3, 4, 0) -> 5, joint 1 exact -> per-joint errors 5, 0
    pred1 = np.zeros((1, 2, 3))
    gt1 = np.zeros((1, 2, 3))
    gt1[0, 0] = [3.0, 4.0, 0.0]
    # sequence 2: three distinct frames predicted exactly -> diagonal path, 3 pairs x 2 joints of 0
    gt2 = np.zeros((3, 2, 3))
    gt2[:, :, 0] = np.arange(3)[:, None]
    pooled = metrics.dtw_mje([pred1, gt2.copy()], [gt1, gt2], method="exact")
    assert pooled == pytest.approx(5.0 / 8)  # 8 joint errors in all, one of them 5
    per_sequence_mean = (2.5 + 0.0) / 2
    assert pooled != pytest.approx(per_sequence_mean)
    assert metrics.dtw_mje([pred1, gt2.copy()], [gt1, gt2], method="fastdtw") == pytest.approx(5.0 / 8)


def test_dtw_mje_skips_empty_and_none_pairs_and_accepts_torch():
    torch = pytest.importorskip("torch")
    gt = _frames([0, 1, 2])
    pred = torch.tensor(_frames([0, 1, 3]), dtype=torch.float32)
    value = metrics.dtw_mje([pred, None, np.zeros((0, 1, 3))], [gt, gt, gt])
    assert value == pytest.approx(1.0 / 3)  # pairs (0,0), (1,1), (2,2); last joint off by 1
    assert math.isnan(metrics.dtw_mje([None], [gt]))
    with pytest.raises(ValueError, match="same order"):
        metrics.dtw_mje([gt], [gt, gt])


# --- frame rate -------------------------------------------------------------------------------------


def test_subsample_to_12_5_fps():
    poses = np.arange(7)[:, None, None] * np.ones((1, 178, 3))
    assert metrics.subsample(poses).shape == (4, 178, 3)
    assert metrics.subsample(poses)[:, 0, 0].tolist() == [0, 2, 4, 6]
    assert [metrics.subsample_step(f) for f in (25, 25.0, 12.5, 50)] == [2, 2, 1, 4]
    with pytest.raises(ValueError, match="multiple of 12.5"):
        metrics.subsample_step(30)


def test_score_system_subsamples_25_fps_poses_before_dtw():
    gt = _frames(np.arange(10) * 2.0)
    pred = gt.copy()
    pred[1::2, 0, 0] += 7.0  # odd frames wrong; dropped by [::2]
    at_25 = metrics.score_system(None, None, [pred], [gt], fps=25.0)
    at_12_5 = metrics.score_system(None, None, [pred], [gt], fps=12.5)
    assert at_25["DTW-MJE"] == 0.0
    assert at_12_5["DTW-MJE"] > 0.5
    # ground truth at 25 fps, predictions already at 12.5 fps: only gt is subsampled
    assert metrics.score_system(None, None, [pred[::2]], [gt], fps=12.5, gt_fps=25.0)["DTW-MJE"] == 0.0


# --- text -------------------------------------------------------------------------------------------

HYPS = ["the cat sat on the mat", "a dog"]
REFS = ["the cat is on the mat", "a big dog barks"]


def test_bleu_by_hand():
    # hyp/ref lengths 8/10 -> BP = exp(1 - 10/8); matches: 1-grams 7/8, 2-grams 3/6, 3-grams 1/4, 4-grams 0/3
    bp = math.exp(-0.25)
    got = metrics.bleu(HYPS, REFS)
    assert got["BLEU-1"] == pytest.approx(100 * bp * 7 / 8)
    assert got["BLEU-2"] == pytest.approx(100 * bp * (7 / 8 * 1 / 2) ** (1 / 2))
    assert got["BLEU-3"] == pytest.approx(100 * bp * (7 / 8 * 1 / 2 * 1 / 4) ** (1 / 3))
    assert got["BLEU-4"] == 0.0  # floor smoothing with value 0


def test_bleu_equals_sacrebleu_cumulative_orders_and_is_case_sensitive():
    hyps = ["ich gehe heute nach hause und esse", "morgen regnet es im norden stark", "der wind weht"]
    refs = ["ich gehe morgen nach hause", "morgen regnet es im süden stark und lange",
            "der wind weht kräftig aus west"]
    got = metrics.bleu(hyps, refs)
    for n in range(1, 5):
        ref = BLEU(tokenize="none", smooth_method="floor", smooth_value=0.0, effective_order=True,
                   max_ngram_order=n).corpus_score(hyps, [refs]).score
        assert got[f"BLEU-{n}"] == pytest.approx(ref)
    assert metrics.bleu(["Der Wind"], ["der wind"])["BLEU-1"] == 0.0


def test_bleu_is_zero_when_no_hypothesis_has_n_tokens():
    # SLRTP: no 2-grams at all -> precision 0 -> BLEU-2 = 0 (sacrebleu 2.x effective order would give 100)
    got = metrics.bleu(["hallo", "welt"], ["hallo", "welt"])
    assert got["BLEU-1"] == pytest.approx(100.0)
    assert got["BLEU-2"] == got["BLEU-3"] == got["BLEU-4"] == 0.0


def test_chrf_corpus_statistics_by_hand():
    # "ab"/"ac": 1-gram P = R = 1/2, no 2-gram match -> mean P = R = 1/4 over 2 orders -> 25
    assert metrics.chrf(["ab"], ["ac"]) == pytest.approx(25.0)
    # corpus: 1-grams 4/5, 2-grams 2/3, 3-grams 1/1 -> mean 0.8222 (not the sentence mean (25 + 100) / 2)
    assert metrics.chrf(["ab", "xyz"], ["ac", "xyz"]) == pytest.approx(100 * (0.8 + 2 / 3 + 1) / 3)


def test_rouge_l_by_hand():
    assert metrics.lcs_length(HYPS[0].split(" "), REFS[0].split(" ")) == 5
    # sentence 1: LCS 5, P = R = 5/6 -> F = 5/6; sentence 2: LCS 2, P = 1, R = 1/2
    f2 = (1 + 1.44) * 1 * 0.5 / (0.5 + 1.44 * 1)
    assert metrics.rouge_l(HYPS[1], REFS[1]) == pytest.approx(f2)
    assert metrics.rouge(HYPS, REFS) == pytest.approx(100 * (5 / 6 + f2) / 2)
    # beta weights recall: swapping P and R changes the score
    assert metrics.rouge_l(REFS[1], HYPS[1]) == pytest.approx(2.44 * 0.5 / (1 + 1.44 * 0.5))


def test_rouge_l_empty_strings():
    assert metrics.rouge_l("", "") == 1.0  # one empty token each
    assert metrics.rouge_l("", "a b") == 0.0
    assert metrics.rouge_l("", "a  b") == pytest.approx(2.44 * 1 * (1 / 3) / (1 / 3 + 1.44))


def test_wer_is_corpus_level_after_normalisation():
    # sentence 1: 1 substitution / 4 words; sentence 2: 2 insertions / 2 words
    # corpus (1 + 2) / (4 + 2) = 50; a mean of sentence WERs would be 62.5
    assert metrics.wer(["a x c d", "e f g h"], ["a b c d", "e f"]) == pytest.approx(50.0)
    assert metrics.wer(["A, x. C  d!"], ["a b c d"]) == pytest.approx(25.0)  # case, punctuation, spaces
    assert metrics.wer(["Guten-Tag «heute»"], ["gutentag heute"]) == 0.0  # punctuation removed, no space


def test_score_system_keys_and_nan_without_poses():
    scores = metrics.score_system(HYPS, REFS)
    assert tuple(scores) == metrics.METRIC_KEYS
    assert math.isnan(scores["DTW-MJE"])
    assert scores["BLEU-1"] == pytest.approx(metrics.bleu(HYPS, REFS)["BLEU-1"])
    assert scores["ROUGE"] == pytest.approx(metrics.rouge(HYPS, REFS))
    assert scores["WER"] == pytest.approx(metrics.wer(HYPS, REFS))
    with pytest.raises(ValueError, match="same order"):
        metrics.score_system(HYPS, REFS[:1])
    with pytest.raises(ValueError, match="unknown"):
        metrics.score_system(None, None, [_frames([0, 1])], [_frames([0, 1])], dtw="soft")


def test_word_error_rates_split_wer_into_its_parts():
    from pipelib.evaluation.metrics import wer, word_error_rates

    refs = ["REGEN NORD MORGEN", "SONNE SUED"]
    hyps = ["regen WEST", "SONNE SUED HEUTE"]  # 1 sub + 1 del, then 1 ins; case is normalised
    rates = word_error_rates(hyps, refs)
    assert rates == pytest.approx({"WER": 60.0, "SUB": 20.0, "DEL": 20.0, "INS": 20.0})
    assert rates["WER"] == pytest.approx(wer(hyps, refs))
