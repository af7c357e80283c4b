"""SLRTP 2025 metrics: hand-computed values on small inputs, DTW paths of both fastdtw builds, the
evaluator's frame-rate rule, total_distance and avg_duration."""

import math

import numpy as np
import pytest
from sacrebleu.metrics import BLEU

from pipelib.metrics import dtw, slrtp

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


# --- DTW: the C build's semantics -------------------------------------------------------------------


def test_fastdtw_uses_the_packages_pure_python_module():
    assert dtw._PURE.__name__ == "fastdtw.fastdtw" and dtw._PURE.__file__.endswith("fastdtw.py")


def test_c_ties_take_the_diagonal_where_pure_python_walks_the_edges():
    # all costs 0. C: the diagonal wins every tie it is in; a cell in column 0 can only come from above.
    assert dtw.fastdtw_c(np.zeros((2, 3)), np.zeros((2, 3)))[1] == [(0, 0), (1, 1)]
    assert dtw.fastdtw_c(np.zeros((5, 3)), np.zeros((4, 3)))[1] == [(0, 0), (1, 0), (2, 1), (3, 2), (4, 3)]
    # x = 0 5 0, y = 0 -5 0: D(1,1) = 10 from (0,0); D(1,2) = D(2,1) = 10, each tied between an edge
    # predecessor (5) and the diagonal (5); D(2,2) = 10 ties all three. Same cost, different paths.
    x, y = np.array([[0.0], [5], [0]]), np.array([[0.0], [-5], [0]])
    assert dtw.fastdtw_c(x, y) == (10.0, [(0, 0), (1, 1), (2, 2)])
    assert dtw.fastdtw(x, y) == (10.0, [(0, 0), (0, 1), (0, 2), (1, 2), (2, 2)])
    assert dtw.dtw_exact(x, y) == dtw.fastdtw(x, y)


def test_c_ties_prefer_left_over_up():
    # x = 0 1 0, y = 1 0 1; D = [[1, 1, 2], [1, 2, 1], [2, 1, 2]]. At (2, 2) up D(1,2) = left D(2,1) = 1 are
    # below the diagonal D(1,1) = 2: C takes left, pure Python (sums, up first) takes up.
    x, y = np.array([[0.0], [1], [0]]), np.array([[1.0], [0], [1]])
    assert dtw.fastdtw_c(x, y) == (2.0, [(0, 0), (1, 0), (2, 1), (2, 2)])
    assert dtw.fastdtw(x, y) == (2.0, [(0, 0), (0, 1), (1, 2), (2, 2)])


def test_c_windowed_step_never_enters_the_cell_past_the_previous_rows_bound_diagonally():
    # row 0 holds column 0 only, row 1 columns 0..2; all costs 0. (1, 1) is just past row 0's bound:
    # C reaches it from (1, 0), not diagonally from (0, 0), though (0, 0) is inside the window.
    x, y = np.zeros((2, 3)), np.zeros((3, 3))
    assert dtw.dtw_c_window(x, y, [0, 0], [0, 2])[1] == [(0, 0), (1, 0), (1, 1), (1, 2)]
    # with row 0 reaching column 1 the diagonal is allowed and wins the tie
    assert dtw.dtw_c_window(x, y, [0, 0], [1, 2])[1] == [(0, 0), (1, 1), (1, 2)]


def test_c_window_bounds_by_hand_and_the_last_row_differs_from_pure_python():
    # coarse path rows 0..4 with columns 0-1, 2, 3, 3, 4 -> per coarse row lowest/highest column
    # [0,2,3,3,4] / [1,2,3,3,4]; widened by 1 row and column: low [0,0,1,2,2], high [3,4,4,5,5]; the row
    # past the path repeats [2, 5]; doubled and clipped to the 10 columns of the fine grid.
    path = [(0, 0), (0, 1), (1, 2), (2, 3), (3, 3), (4, 4)]
    low, high = dtw.c_window(path, 11, 10, 1)
    assert low.tolist() == [0, 0, 0, 0, 2, 2, 4, 4, 4, 4, 4]
    assert high.tolist() == [7, 7, 9, 9, 9, 9, 9, 9, 9, 9, 9]
    # the pure-Python window widens only the path's last row into fine row 10: it starts at column 6
    pure = getattr(dtw._PURE, "__expand_window")(path, 11, 10, 1)
    assert min(j for i, j in pure if i == 10) == 6
    assert [min(j for i, j in pure if i == r) for r in range(10)] == low[:10].tolist()


def test_fastdtw_c_matches_the_compiled_extension():
    # reference outputs of the fastdtw 0.3.4 C extension (built from the sdist with Cython 0.29 on
    # Python 3.11, Euclidean dist, radius 1); the pure-Python build's outputs beside them
    x = np.array([0, 2, 1, 2, 1, 0], float)[:, None]
    y = np.array([0, 0, 0, 0, 1], float)[:, None]
    assert dtw.fastdtw_c(x, y) == (5.0, [(0, 0), (0, 1), (1, 2), (2, 3), (3, 4), (4, 4), (5, 4)])
    assert dtw.fastdtw(x, y) == (3.0, [(0, 0), (0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 4), (4, 4),
                                       (5, 4)])
    x = np.array([2, 1, 2, 2, 0], float)[:, None]
    y = np.array([2, 0, 1, 0, 1, 0, 1], float)[:, None]
    assert dtw.fastdtw_c(x, y) == (4.0, [(0, 0), (1, 0), (2, 0), (3, 0), (4, 1), (4, 2), (4, 3), (4, 4),
                                         (4, 5), (4, 6)])
    assert dtw.fastdtw(x, y) == (5.0, [(0, 0), (1, 1), (1, 2), (2, 2), (3, 2), (4, 3), (4, 4), (4, 5),
                                       (4, 6)])


def test_fastdtw_c_is_a_valid_upper_bound_on_exact_dtw():
    rng = np.random.default_rng(2)
    for n, m in [(17, 9), (30, 41), (3, 25), (64, 64)]:
        x = np.repeat(rng.normal(size=(n, 6)), rng.integers(1, 3, size=n), axis=0)  # held frames
        y = rng.normal(size=(m, 6))
        approx, path = dtw.fastdtw_c(x, y)
        assert approx >= dtw.dtw_exact(x, y)[0] - 1e-9
        assert approx == pytest.approx(sum(np.linalg.norm(x[i] - y[j]) for i, j in path))
        assert path[0] == (0, 0) and path[-1] == (len(x) - 1, m - 1)
        assert set(map(tuple, np.diff(np.asarray(path), axis=0))) <= {(1, 0), (0, 1), (1, 1)}


def test_dtw_methods_by_name():
    x, y = np.zeros((2, 3)), np.zeros((2, 3))
    assert dtw.aligner("fastdtw")(x, y)[1] == [(0, 0), (0, 1), (1, 1)]
    assert dtw.aligner("fastdtw_c")(x, y)[1] == [(0, 0), (1, 1)]
    assert dtw.aligner("exact")(x, y)[1] == [(0, 0), (0, 1), (1, 1)]
    assert dtw.describe("fastdtw_c", 2) == "fastdtw_c: FastDTW, fastdtw 0.3.4 C-extension semantics, radius 2"
    with pytest.raises(ValueError, match="evaluation.dtw"):
        dtw.aligner("soft")


# --- DTW-MJE ----------------------------------------------------------------------------------------


def test_dtw_mje_pools_all_aligned_pairs_of_all_sequences():
    # sequence 1: one frame pair; joint 0 off by (3, 4, 0) -> 5, joint 1 exact -> per-joint errors 5, 0
    pred1 = np.zeros((1, 2, 3))
    gt1 = np.zeros((1, 2, 3))
    gt1[0, 0] = [3.0, 4.0, 0.0]
    # sequence 2: three distinct frames predicted exactly -> diagonal path, 3 pairs x 2 joints of 0
    gt2 = np.zeros((3, 2, 3))
    gt2[:, :, 0] = np.arange(3)[:, None]
    pooled = slrtp.dtw_mje([pred1, gt2.copy()], [gt1, gt2], method="exact")
    assert pooled == pytest.approx(5.0 / 8)  # 8 joint errors in all, one of them 5
    per_sequence_mean = (2.5 + 0.0) / 2
    assert pooled != pytest.approx(per_sequence_mean)
    assert slrtp.dtw_mje([pred1, gt2.copy()], [gt1, gt2], method="fastdtw") == pytest.approx(5.0 / 8)


def test_dtw_mje_skips_empty_and_none_pairs_and_accepts_torch():
    torch = pytest.importorskip("torch")
    gt = _frames([0, 1, 2])
    pred = torch.tensor(_frames([0, 1, 3]), dtype=torch.float32)
    value = slrtp.dtw_mje([pred, None, np.zeros((0, 1, 3))], [gt, gt, gt])
    assert value == pytest.approx(1.0 / 3)  # pairs (0,0), (1,1), (2,2); last joint off by 1
    assert math.isnan(slrtp.dtw_mje([None], [gt]))
    with pytest.raises(ValueError, match="same order"):
        slrtp.dtw_mje([gt], [gt, gt])


# --- frame rate: the evaluator's rule -----------------------------------------------------------------


def _ramp(t):
    """(t, 178, 3) poses whose every coordinate is the frame index."""
    return np.arange(t, dtype=float)[:, None, None] * np.ones((1, 178, 3))


def test_ground_truth_is_always_halved_predictions_only_at_its_rate():
    gt, pred = _ramp(7), _ramp(6)
    # the evaluator's default: predictions at 25 fps beside 25 fps ground truth -> both [::2]
    p, g = slrtp.scoring_frames([pred], [gt], 25.0, 25.0)
    assert g[0][:, 0, 0].tolist() == [0, 2, 4, 6] and p[0][:, 0, 0].tolist() == [0, 2, 4]
    # its README's --fps 12: predictions already at 12.5 fps are taken as they are (no error)
    p, g = slrtp.scoring_frames([pred], [gt], 12, 25.0)
    assert p[0].shape[0] == 6 and g[0].shape[0] == 4
    # a 30 fps corpus: ground truth and 30 fps predictions both [::2] (15 fps); 15 fps ones untouched
    p, g = slrtp.scoring_frames([pred, pred], [gt, gt], [30.0, 15.0], 30.0)
    assert [len(x) for x in p] == [3, 6] and [len(x) for x in g] == [4, 4]
    assert slrtp.scoring_frames([None], [gt], 25.0, 25.0)[0] == [None]
    with pytest.raises(ValueError, match="one per video"):
        slrtp.scoring_frames([pred, pred], [gt, gt], [25.0], 25.0)


def test_odd_prediction_rates_are_scored_as_they_are_with_a_warning(caplog):
    p, _ = slrtp.scoring_frames([_ramp(8)], [_ramp(8)], 50.0, 25.0)
    assert len(p[0]) == 8
    assert "predictions at 50 fps against 25 fps ground truth" in caplog.text


def test_score_system_scores_the_frames_it_is_given():
    gt = _ramp(10) * 2.0
    pred = gt.copy()
    pred[1::2] += 7.0  # odd frames wrong; dropped by the 25 fps rule
    p, g = slrtp.scoring_frames([pred], [gt], 25.0, 25.0)
    assert slrtp.score_system(None, None, p, g)["DTW-MJE"] == 0.0
    p, g = slrtp.scoring_frames([pred], [gt], 12.5, 25.0)  # taken as they are: every frame counts
    assert slrtp.score_system(None, None, p, g)["DTW-MJE"] > 0.5


# --- total_distance and avg_duration --------------------------------------------------------------


def _wrists(left, right):
    """(T, 178, 3) poses with the left wrist (slot 5) and right wrist (slot 2) at the given x positions."""
    out = np.zeros((len(left), 178, 3))
    out[:, slrtp.LEFT_WRIST, 0] = left
    out[:, slrtp.RIGHT_WRIST, 0] = right
    return out


def test_total_distance_is_a_ratio_of_mean_wrist_travel_per_wrist_averaged():
    assert (slrtp.LEFT_WRIST, slrtp.RIGHT_WRIST) == (5, 2)  # SLRTP's LWrist and RWrist
    gt = [_wrists([0, 1, 2, 3], [0, 2, 0, 2]), _wrists([0, 0, 0, 1], [0, 0, 0, 0])]  # left 3, 1; right 6, 0
    pred = [_wrists([0, 1, 1], [0, 1, 0]), _wrists([0, 1, 0, 1, 0], [0, 0, 0, 0, 0])]  # left 1, 4; right 2, 0
    # left: mean 2.5 / mean 2 = 1.25; right: mean 1 / mean 3 = 1/3; averaged
    assert slrtp.total_distance(pred, gt) == pytest.approx((1.25 + 1 / 3) / 2)
    assert slrtp.total_distance(gt, gt) == 1.0
    # a prediction frozen in place travels nowhere
    assert slrtp.total_distance([g[:1].repeat(5, axis=0) for g in gt], gt) == 0.0
    assert slrtp.path_length(np.array([[0, 0, 0], [3, 4, 0], [3, 4, 0]])) == 5.0


def test_avg_duration_is_the_mean_length_ratio():
    gt = [_ramp(4), _ramp(8)]
    pred = [_ramp(2), _ramp(12)]
    assert slrtp.avg_duration(pred, gt) == pytest.approx((0.5 + 1.5) / 2)  # not 14 / 12
    with pytest.raises(ValueError, match="wrists"):
        slrtp.total_distance([np.zeros((3, 4, 3))], [np.zeros((3, 4, 3))])


def test_score_system_reports_the_evaluators_pose_metrics_after_its_frame_rule():
    gt = [_wrists(np.arange(8.0), np.zeros(8))]
    pred = [_wrists(np.arange(8.0) / 2, np.zeros(8))]  # half the travel, same length, at 25 fps
    p, g = slrtp.scoring_frames(pred, gt, 25.0, 25.0)
    scores = slrtp.score_system(None, None, p, g)
    assert scores["avg_duration"] == 1.0
    assert math.isnan(scores["total_distance"])  # the right wrist never moves in the ground truth: 0 / 0
    gt = [_wrists(np.arange(8.0), np.arange(8.0))]
    p, g = slrtp.scoring_frames(pred, gt, 12.5, 25.0)  # 8 frames taken as they are vs 4 ground-truth ones
    scores = slrtp.score_system(None, None, p, g)
    assert scores["avg_duration"] == 2.0
    assert scores["total_distance"] == pytest.approx((3.5 / 6 + 0.0) / 2)


# --- text -------------------------------------------------------------------------------------------

HYPS = ["the cat sat on the mat", "a dog"]
REFS = ["the cat is on the mat", "a big dog barks"]


def test_bleu_by_hand():
    # hyp/ref lengths 8/10 -> BP = exp(1 - 10/8); matches: 1-grams 7/8, 2-grams 3/6, 3-grams 1/4, 4-grams 0/3
    bp = math.exp(-0.25)
    got = slrtp.bleu(HYPS, REFS)
    assert got["BLEU-1"] == pytest.approx(100 * bp * 7 / 8)
    assert got["BLEU-2"] == pytest.approx(100 * bp * (7 / 8 * 1 / 2) ** (1 / 2))
    assert got["BLEU-3"] == pytest.approx(100 * bp * (7 / 8 * 1 / 2 * 1 / 4) ** (1 / 3))
    assert got["BLEU-4"] == 0.0  # floor smoothing with value 0


def test_bleu_equals_sacrebleu_cumulative_orders_and_is_case_sensitive():
    hyps = ["ich gehe heute nach hause und esse", "morgen regnet es im norden stark", "der wind weht"]
    refs = ["ich gehe morgen nach hause", "morgen regnet es im süden stark und lange",
            "der wind weht kräftig aus west"]
    got = slrtp.bleu(hyps, refs)
    for n in range(1, 5):
        ref = BLEU(tokenize="none", smooth_method="floor", smooth_value=0.0, effective_order=True,
                   max_ngram_order=n).corpus_score(hyps, [refs]).score
        assert got[f"BLEU-{n}"] == pytest.approx(ref)
    assert slrtp.bleu(["Der Wind"], ["der wind"])["BLEU-1"] == 0.0


def test_bleu_is_zero_when_no_hypothesis_has_n_tokens():
    # SLRTP: no 2-grams at all -> precision 0 -> BLEU-2 = 0 (sacrebleu 2.x effective order would give 100)
    got = slrtp.bleu(["hallo", "welt"], ["hallo", "welt"])
    assert got["BLEU-1"] == pytest.approx(100.0)
    assert got["BLEU-2"] == got["BLEU-3"] == got["BLEU-4"] == 0.0


def test_chrf_corpus_statistics_by_hand():
    # "ab"/"ac": 1-gram P = R = 1/2, no 2-gram match -> mean P = R = 1/4 over 2 orders -> 25
    assert slrtp.chrf(["ab"], ["ac"]) == pytest.approx(25.0)
    # corpus: 1-grams 4/5, 2-grams 2/3, 3-grams 1/1 -> mean 0.8222 (not the sentence mean (25 + 100) / 2)
    assert slrtp.chrf(["ab", "xyz"], ["ac", "xyz"]) == pytest.approx(100 * (0.8 + 2 / 3 + 1) / 3)


def test_rouge_l_by_hand():
    assert slrtp.lcs_length(HYPS[0].split(" "), REFS[0].split(" ")) == 5
    # sentence 1: LCS 5, P = R = 5/6 -> F = 5/6; sentence 2: LCS 2, P = 1, R = 1/2
    f2 = (1 + 1.44) * 1 * 0.5 / (0.5 + 1.44 * 1)
    assert slrtp.rouge_l(HYPS[1], REFS[1]) == pytest.approx(f2)
    assert slrtp.rouge(HYPS, REFS) == pytest.approx(100 * (5 / 6 + f2) / 2)
    # beta weights recall: swapping P and R changes the score
    assert slrtp.rouge_l(REFS[1], HYPS[1]) == pytest.approx(2.44 * 0.5 / (1 + 1.44 * 0.5))


def test_rouge_l_empty_strings():
    assert slrtp.rouge_l("", "") == 1.0  # one empty token each
    assert slrtp.rouge_l("", "a b") == 0.0
    assert slrtp.rouge_l("", "a  b") == pytest.approx(2.44 * 1 * (1 / 3) / (1 / 3 + 1.44))


def test_wer_is_corpus_level_after_normalisation():
    # sentence 1: 1 substitution / 4 words; sentence 2: 2 insertions / 2 words
    # corpus (1 + 2) / (4 + 2) = 50; a mean of sentence WERs would be 62.5
    assert slrtp.wer(["a x c d", "e f g h"], ["a b c d", "e f"]) == pytest.approx(50.0)
    assert slrtp.wer(["A, x. C  d!"], ["a b c d"]) == pytest.approx(25.0)  # case, punctuation, spaces
    assert slrtp.wer(["Guten-Tag «heute»"], ["gutentag heute"]) == 0.0  # punctuation removed, no space


def test_score_system_keys_and_nan_without_poses():
    scores = slrtp.score_system(HYPS, REFS)
    assert tuple(scores) == slrtp.METRIC_KEYS
    assert math.isnan(scores["DTW-MJE"]) and math.isnan(scores["total_distance"])
    assert scores["BLEU-1"] == pytest.approx(slrtp.bleu(HYPS, REFS)["BLEU-1"])
    assert scores["ROUGE"] == pytest.approx(slrtp.rouge(HYPS, REFS))
    assert scores["WER"] == pytest.approx(slrtp.wer(HYPS, REFS))
    with pytest.raises(ValueError, match="same order"):
        slrtp.score_system(HYPS, REFS[:1])
    with pytest.raises(ValueError, match="unknown"):
        slrtp.score_system(None, None, [_ramp(2)], [_ramp(2)], dtw="soft")


def test_word_error_rates_split_wer_into_its_parts():
    from pipelib.metrics.slrtp import wer, word_error_rates

    refs = ["REGEN NORD MORGEN", "SONNE SUED"]
    hyps = ["regen WEST", "SONNE SUED HEUTE"]  # 1 sub + 1 del, then 1 ins; case is normalised
    rates = word_error_rates(hyps, refs)
    assert rates == pytest.approx({"WER": 60.0, "SUB": 20.0, "DEL": 20.0, "INS": 20.0})
    assert rates["WER"] == pytest.approx(wer(hyps, refs))
