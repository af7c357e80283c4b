"""Bootstrap intervals and paired tests: corpus metrics recomputed per resample, paired plans, p-values."""

import math

import numpy as np
import pytest

from pipelib.metrics import slrtp, statistics

WORDS = ["regen", "sonne", "wind", "schnee", "norden", "sueden", "osten", "westen", "heute", "morgen", "am",
         "im", "und"]


def _noisy(refs, seed):
    """Hypotheses from references: each word replaced with probability 0.4, the last one sometimes dropped."""
    rng = np.random.default_rng(seed)
    hyps = []
    for r in refs:
        ref = r.split(" ")
        hyp = [w if rng.random() > 0.4 else str(rng.choice(WORDS)) for w in ref]
        hyp = hyp[: len(ref) - rng.integers(0, 2)]
        hyps.append(" ".join(hyp))
    return hyps


def _corpus(n, seed=0):
    """n reference sentences of 3-7 words and a noisy hypothesis per sentence."""
    rng = np.random.default_rng(seed)
    refs = [" ".join(rng.choice(WORDS, size=rng.integers(3, 8))) for _ in range(n)]
    return _noisy(refs, seed + 1000), refs


def _poses(n, seed=0, noise=0.1):
    rng = np.random.default_rng(seed)
    gt = [rng.normal(size=(int(rng.integers(4, 9)), 178, 3)) for _ in range(n)]
    pred = [g[: max(1, len(g) - int(rng.integers(0, 3)))] + rng.normal(scale=noise, size=(1, 178, 3))
            for g in gt]
    return pred, gt


def _system(n, seed=0, noise=0.1):
    hyps, refs = _corpus(n, seed)
    pred, gt = _poses(n, seed, noise)
    return statistics.system_statistics(hyps, refs, pred, gt), (hyps, refs, pred, gt)


def test_points_equal_the_metrics_and_sentence_stats_sum_to_the_corpus_score():
    stats, (hyps, refs, pred, gt) = _system(12)
    scores = slrtp.score_system(hyps, refs, pred, gt)
    assert list(stats) == list(slrtp.METRIC_KEYS)
    for key, s in stats.items():
        assert s.point == scores[key], key  # identical, not approximately
        assert s.score(s.values.sum(axis=0)) == pytest.approx(s.point, rel=1e-12), key
    assert slrtp.wer_from_stats(slrtp.wer_sentence_stats(hyps, refs).sum(axis=0)) == \
        slrtp.word_error_rates(hyps, refs)


def test_resampled_scores_recompute_corpus_metrics_on_the_drawn_sentences():
    stats, (hyps, refs, pred, gt) = _system(10, seed=3)
    counts = statistics.resample_counts(10, 5, seed=1)
    assert (counts.sum(axis=1) == 10).all()
    assert (statistics.resample_counts(10, 5, seed=1) == counts).all()  # seeded
    boot = {k: statistics.resampled_scores(s, counts) for k, s in stats.items()}
    for b, row in enumerate(counts):
        drawn = np.repeat(np.arange(10), row)  # the resampled corpus, sentence by sentence
        direct = slrtp.score_system([hyps[i] for i in drawn], [refs[i] for i in drawn],
                                      [pred[i] for i in drawn], [gt[i] for i in drawn])
        for key in slrtp.METRIC_KEYS:
            assert boot[key][b] == pytest.approx(direct[key], rel=1e-9), (key, b)
    # corpus-level, not a mean of sentence scores: BLEU-1 of the whole differs from the mean sentence BLEU-1
    mean_sentence = np.mean([slrtp.bleu([h], [r])["BLEU-1"] for h, r in zip(hyps, refs, strict=True)])
    assert stats["BLEU-1"].point != pytest.approx(mean_sentence, rel=1e-3)


def test_intervals_contain_the_point_and_narrow_with_more_sentences():
    small, _ = _system(20, seed=5)
    # the same 20 sentences ten times over: every corpus score is unchanged, the sample is 10x larger
    big = {k: statistics.MetricStats(s.point, np.tile(s.values, (10, 1)), s.score) for k, s in small.items()}
    rows_small = statistics.bootstrap({"sys": small}, 1000, seed=0)
    rows_big = statistics.bootstrap({"sys": big}, 1000, seed=0)
    for (_, a), (_, b) in zip(rows_small.iterrows(), rows_big.iterrows(), strict=True):
        assert a["ci_low"] <= a["estimate"] <= a["ci_high"], a["metric"]
        assert b["ci_low"] <= b["estimate"] <= b["ci_high"], b["metric"]
        width_small, width_big = a["ci_high"] - a["ci_low"], b["ci_high"] - b["ci_low"]
        assert 0 < width_big < 0.6 * width_small, a["metric"]  # about 1/sqrt(10) as wide


def test_paired_test_detects_a_real_difference_and_not_a_null_one():
    _, refs = _corpus(60, seed=7)
    perfect = statistics.text_statistics(refs, refs)
    noisy = statistics.text_statistics(_noisy(refs, 101), refs)
    # null: a second system from the same noise process (one draw; under the null p is about uniform,
    # see the calibration test below; this draw's p-values are all above 0.3)
    same_process = statistics.text_statistics(_noisy(refs, 103), refs)
    # null with equal corpus BLEU and WER: each drops the last word of a different half of the sentences
    drop = [" ".join(r.split(" ")[:-1]) for r in refs]
    pairs_ = list(enumerate(zip(drop, refs, strict=True)))
    even = statistics.text_statistics([d if i % 2 == 0 else r for i, (d, r) in pairs_], refs)
    odd = statistics.text_statistics([d if i % 2 else r for i, (d, r) in pairs_], refs)
    systems = {"perfect": perfect, "noisy": noisy, "same-process": same_process, "even": even, "odd": odd}
    rows = statistics.bootstrap(systems, 1000, seed=3)
    pairs = rows[rows["versus"] != ""].set_index(["system", "versus", "metric"])
    for m in slrtp.TEXT_KEYS:
        real = pairs.loc[("noisy", "perfect", m)]
        assert real["p_value"] < 0.01 and not real["ci_low"] <= 0 <= real["ci_high"], m
        for null in (pairs.loc[("same-process", "noisy", m)], pairs.loc[("odd", "even", m)]):
            assert null["p_value"] > 0.3 and null["ci_low"] <= 0 <= null["ci_high"], m
        assert pairs.loc[("same-process", "noisy", m), "estimate"] != 0, m  # a real, non-zero gap
    assert pairs.loc[("noisy", "perfect", "WER"), "estimate"] > 0
    # a system against itself: no evidence of a difference at all
    same = statistics.bootstrap({"a": noisy, "b": noisy}, 200, seed=0)
    assert (same.loc[same["versus"] == "a", "p_value"] == 1.0).all()


def test_paired_test_rejects_about_five_percent_of_null_pairs():
    _, refs = _corpus(40, seed=9)

    def wer_of(seed):
        values = slrtp.wer_sentence_stats(_noisy(refs, seed), refs)
        score = statistics.text_statistics(refs[:1], refs[:1])["WER"].score
        return statistics.MetricStats(score(values.sum(axis=0)), values, score)

    wer = {seed: wer_of(seed) for seed in range(2000, 2200)}
    p = np.array([statistics.bootstrap({"a": {"WER": wer[s]}, "b": {"WER": wer[s + 1]}}, 1000, seed=s)
                  ["p_value"].iloc[-1] for s in range(2000, 2200, 2)])
    # 100 pairs of systems from one noise process: nominal 5% (measured 7%: a bootstrap on 40
    # sentences is a little liberal, one reason tables under evaluation.statistics.min_sentences warn)
    assert 0.0 < np.mean(p < 0.05) <= 0.12
    assert 0.35 < np.median(p) < 0.65


def test_bootstrap_rows_pairs_and_plan():
    a, _ = _system(8, seed=1)
    b, _ = _system(8, seed=2)
    c, _ = _system(8, seed=3)
    rows = statistics.bootstrap({"GT": a, "X": b, "Y": c}, 1000, seed=11)
    assert list(rows.columns) == statistics.INTERVAL_COLUMNS
    own = rows[rows["versus"] == ""]
    assert len(own) == 3 * len(slrtp.METRIC_KEYS) and own["p_value"].isna().all()
    pairs = rows[rows["versus"] != ""]
    compared = sorted(set(zip(pairs["system"], pairs["versus"], strict=True)))
    assert compared == [("X", "GT"), ("Y", "GT"), ("Y", "X")]
    assert rows.equals(statistics.bootstrap({"GT": a, "X": b, "Y": c}, 1000, seed=11))  # seeded
    assert not rows.equals(statistics.bootstrap({"GT": a, "X": b, "Y": c}, 1000, seed=12))
    short, _ = _system(5)
    with pytest.raises(ValueError, match="different numbers of sentences"):
        statistics.bootstrap({"a": a, "b": short}, 10, seed=0)


def test_percentile_interval_and_p_value_rules():
    samples = np.arange(1000, dtype=float)
    assert statistics.percentile_interval(samples, 0.95) == (25.0, 974.0)  # sacrebleu's order statistics
    assert statistics.percentile_interval(np.array([np.nan, 1.0, np.inf]), 0.5) == (1.0, 1.0)
    assert all(math.isnan(v) for v in statistics.percentile_interval(np.array([np.nan]), 0.95))
    # observed 1.0; resampled differences centred on it: |d - 1| >= 1 only for d <= 0 or d >= 2
    assert statistics.paired_p_value(np.array([0.0, 0.5, 1.0, 1.5, 2.0]), 1.0) == (1 + 2) / 6
    with pytest.raises(ValueError, match="confidence"):
        statistics.percentile_interval(samples, 95)


def test_settings_and_few_sentence_warning():
    assert statistics.settings(None) == {"resamples": 1000, "seed": 2025, "confidence": 0.95,
                                         "min_sentences": 30}
    assert statistics.settings({"seed": 3})["seed"] == 3
    with pytest.raises(ValueError, match=r"evaluation\.statistics\.samples: unknown key"):
        statistics.settings({"samples": 10})
    assert statistics.few_sentences_warning(30, 30) == ""
    assert "only 8 sentences" in statistics.few_sentences_warning(8, 30)
