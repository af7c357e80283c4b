"""Greedy / beam search on constructed step functions, CTC decoding on constructed log-probs, masks."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from pipelib.models.blocks import causal_mask, pad_mask_from_lengths
from pipelib.models.decoding import (
    StepOutput,
    beam_search,
    beam_search_hypotheses,
    ctc_beam_decode,
    ctc_greedy_decode,
    greedy_decode,
    joey_beam_search,
    length_penalty,
)

PAD, BOS, EOS, A, B, C = 0, 1, 2, 3, 4, 5
V = 6


def table_step(table: dict[tuple[int, ...], dict[int, float]], default_eos: float = 0.97):
    """Step function from {prefix without bos: {token: prob}}; unlisted prefixes mostly emit eos.

    Leftover probability mass is spread over the non-special tokens of the table's vocabulary.
    """

    def step(prefix: torch.Tensor, rows: torch.Tensor) -> StepOutput:
        out = torch.empty(prefix.size(0), V)
        for i, row in enumerate(prefix.tolist()):
            probs = table.get(tuple(row[1:]), {EOS: default_eos})
            unlisted = [t for t in range(EOS, V) if t not in probs]
            rest = (1.0 - sum(probs.values())) / max(len(unlisted), 1)
            dist = [1e-12, 1e-12] + [probs.get(t, rest) for t in range(EOS, V)]
            out[i] = torch.tensor(dist).clamp_min(1e-12).log()
        return StepOutput(out)

    return step


def random_step(seed: int, batch: int):
    """A fixed pseudo-random next-token distribution per (batch item, last token, length)."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, V, 12, V, generator=g) * 2.0

    def step(prefix: torch.Tensor, rows: torch.Tensor) -> StepOutput:
        last = prefix[:, -1]
        t = min(prefix.size(1) - 1, 11)
        return StepOutput(torch.log_softmax(logits[rows, last, t], dim=-1))

    return step


def test_length_penalty_values():
    assert length_penalty(1, 1.0) == pytest.approx(1.0)
    assert length_penalty(7, 1.0) == pytest.approx(2.0)
    assert length_penalty(7, 2.0) == pytest.approx(4.0)
    assert length_penalty(30, 0.0) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_one_equals_greedy(seed):
    step = random_step(seed, batch=5)
    kw = dict(bos_id=BOS, eos_id=EOS, max_len=9, banned=(PAD, BOS))
    greedy = greedy_decode(step, 5, **kw)
    assert greedy == beam_search(step, 5, beam=1, alpha=1.0, **kw)
    assert greedy == beam_search(step, 5, beam=1, alpha=0.0, **kw)
    # the random tables give varied outputs, some cut at max_len, none with specials
    assert len({tuple(g) for g in greedy}) > 1
    assert all(t > EOS for g in greedy for t in g)


def test_beam_finds_sequence_greedy_misses():
    # greedy takes A (0.6) and then can only finish with 0.34: total 0.204;
    # B (0.4) then eos (0.99) totals 0.396.
    table = {(): {A: 0.6, B: 0.4}, (A,): {EOS: 0.34, A: 0.33, B: 0.33}, (B,): {EOS: 0.99}}
    step = table_step(table)
    kw = dict(bos_id=BOS, eos_id=EOS, max_len=6, alpha=0.0)
    assert greedy_decode(step, 1, bos_id=BOS, eos_id=EOS, max_len=6) == [[A]]
    assert beam_search(step, 1, beam=1, **kw) == [[A]]
    assert beam_search(step, 1, beam=3, **kw) == [[B]]
    hyps = beam_search_hypotheses(step, 1, beam=3, n_best=2, **kw)[0]
    assert [h.tokens for h in hyps] == [[B], [A]]
    assert hyps[0].total == pytest.approx(math.log(0.4 * 0.99), abs=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_beam_does_not_stop_on_poor_early_endings(alpha):
    # a confident path A B C; every other prefix ends at once with low probability, so poor finished
    # hypotheses pile up among the top candidates while A B C is still being built
    table = {(): {A: 0.95, EOS: 0.03}, (A,): {B: 0.95, EOS: 0.03}, (A, B): {C: 0.95, EOS: 0.03},
             (A, B, C): {EOS: 0.98}}
    hyps = beam_search_hypotheses(table_step(table), 1, beam=3, n_best=10, bos_id=BOS, eos_id=EOS,
                                  max_len=8, alpha=alpha)[0]
    assert len(hyps) > 3  # the poor endings were collected too
    assert hyps[0].tokens == [A, B, C]


def test_beam_batch_items_are_independent():
    # item 0 reads the table above, item 1 a table where A then eos is best
    t0 = table_step({(): {A: 0.6, B: 0.4}, (A,): {EOS: 0.34, A: 0.33, B: 0.33}, (B,): {EOS: 0.99}})
    t1 = table_step({(): {A: 0.7, B: 0.3}, (A,): {EOS: 0.9}, (B,): {C: 0.9}, (B, C): {EOS: 0.9}})

    def step(prefix, rows):
        a, b = t0(prefix, rows).log_probs, t1(prefix, rows).log_probs
        return StepOutput(torch.where((rows == 0)[:, None], a, b))

    out = beam_search(step, 2, beam=3, bos_id=BOS, eos_id=EOS, max_len=6, alpha=0.0)
    assert out == [[B], [A]]


def test_length_penalty_prefers_longer_output():
    # [] scores log .45 = -0.80; [A, B] scores log(.55 * .8 * .92) = -0.90 raw, -0.68 with alpha = 1
    table = {(): {EOS: 0.45, A: 0.55}, (A,): {B: 0.8, EOS: 0.1}, (A, B): {EOS: 0.92}}
    step = table_step(table)
    kw = dict(bos_id=BOS, eos_id=EOS, max_len=6)
    assert beam_search(step, 1, beam=3, alpha=0.0, **kw) == [[]]
    assert beam_search(step, 1, beam=3, alpha=1.0, **kw) == [[A, B]]
    best = beam_search_hypotheses(step, 1, beam=3, alpha=1.0, **kw)[0][0]
    assert best.score == pytest.approx(best.total / length_penalty(3, 1.0))


def test_max_len_cuts_outputs_without_eos():
    never_ends = table_step({}, default_eos=0.0)  # eos has probability ~0 everywhere
    kw = dict(bos_id=BOS, eos_id=EOS, max_len=4, banned=(PAD, BOS))
    g = greedy_decode(never_ends, 2, **kw)
    b = beam_search(never_ends, 2, beam=3, **kw)
    assert [len(x) for x in g] == [4, 4] and [len(x) for x in b] == [4, 4]


def test_score_term_is_added_and_sees_step_output():
    table = {(): {A: 0.6, B: 0.4}, (A,): {EOS: 0.99}, (B,): {EOS: 0.99}}
    base = table_step(table)
    seen = []

    def step(prefix, rows):
        out = base(prefix, rows)
        return StepOutput(out.log_probs, attention=torch.full((prefix.size(0), 3), 1 / 3))

    def penalise_a(prefix, out):
        seen.append(out.attention.shape)
        bonus = torch.zeros_like(out.log_probs)
        bonus[:, A] = -5.0
        return bonus

    kw = dict(beam=3, bos_id=BOS, eos_id=EOS, max_len=5, alpha=0.0)
    assert beam_search(step, 1, **kw) == [[A]]
    assert beam_search(step, 1, score_terms=[penalise_a], **kw) == [[B]]
    assert seen and seen[0] == (3, 3)  # beam rows, source length
    assert greedy_decode(step, 1, bos_id=BOS, eos_id=EOS, max_len=5, score_terms=[penalise_a]) == [[B]]


def test_banned_tokens_never_appear():
    # bos is the most likely token everywhere, eos comes second
    def step(prefix, rows):
        p = torch.tensor([0.01, 0.6, 0.3, 0.03, 0.03, 0.03]).log()
        return StepOutput(p.expand(prefix.size(0), V))

    kw = dict(bos_id=BOS, eos_id=EOS, max_len=5)
    assert greedy_decode(step, 1, **kw) == [[BOS] * 5]
    assert greedy_decode(step, 1, banned=(PAD, BOS), **kw) == [[]]
    assert beam_search(step, 1, beam=3, banned=(PAD, BOS), **kw) == [[]]


# --------------------------------------------------------------------------------------------- CTC


def one_hot_log_probs(paths: list[list[int]], vocab: int, peak: float = 0.9) -> torch.Tensor:
    """(T, B, V) log-probs whose per-frame argmax spells ``paths`` (padded with label 1 frames)."""
    t = max(len(p) for p in paths)
    probs = torch.full((t, len(paths), vocab), (1 - peak) / (vocab - 1))
    for b, path in enumerate(paths):
        for i in range(t):
            probs[i, b] = (1 - peak) / (vocab - 1)
            probs[i, b, path[i] if i < len(path) else 1] = peak
    return probs.log()


def test_ctc_greedy_collapses_repeats_and_drops_blanks():
    paths = [[1, 1, 0, 1, 2, 2, 0, 0, 3], [0, 2, 0, 2, 2]]
    lp = one_hot_log_probs(paths, vocab=4)
    out = ctc_greedy_decode(lp, [9, 5], blank=0)
    assert out == [[1, 1, 2, 3], [2, 2]]
    # frames past an item's length are ignored (the padding frames spell label 1)
    assert ctc_greedy_decode(lp, [9, 3], blank=0)[1] == [2]
    # another blank index
    assert ctc_greedy_decode(one_hot_log_probs([[3, 1, 3, 3, 2]], 4), [5], blank=3) == [[1, 2]]


def test_ctc_beam_beats_best_path():
    # two frames, p(blank) = 0.6, p(a) = 0.4: the best path (blank, blank) spells "" with 0.36,
    # but "a" collects aa + a- + -a = 0.16 + 0.24 + 0.24 = 0.64
    lp = torch.tensor([[0.6, 0.4], [0.6, 0.4]]).log()[:, None, :]  # (T=2, B=1, V=2)
    assert ctc_greedy_decode(lp, [2]) == [[]]
    assert ctc_beam_decode(lp, [2], beam=4) == [[1]]


def brute_force_ctc(lp: torch.Tensor, blank: int) -> dict[tuple[int, ...], float]:
    """Summed probability of every label sequence over all paths of one item's (T, V) log-probs."""
    t, v = lp.shape
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(v), repeat=t):
        labels = []
        for i, c in enumerate(path):
            if c != blank and (i == 0 or c != path[i - 1]):
                labels.append(c)
        p = math.exp(sum(float(lp[i, c]) for i, c in enumerate(path)))
        totals[tuple(labels)] = totals.get(tuple(labels), 0.0) + p
    return totals


@pytest.mark.parametrize("blank", [0, 2])
def test_ctc_beam_matches_exhaustive_search(blank):
    g = torch.Generator().manual_seed(3)
    lp = torch.log_softmax(torch.randn(4, 3, 3, generator=g) * 1.5, dim=-1)  # (T=4, B=3, V=3)
    lengths = [4, 3, 4]
    out = ctc_beam_decode(lp, lengths, beam=64, blank=blank)
    for b, n in enumerate(lengths):
        totals = brute_force_ctc(lp[:n, b], blank)
        assert tuple(out[b]) == max(totals, key=totals.get)
    # a single sharp path: beam and greedy agree
    sharp = one_hot_log_probs([[1, 1, 0, 2, 0, 2]], 3, peak=0.98)
    assert ctc_beam_decode(sharp, [6], beam=3) == ctc_greedy_decode(sharp, [6]) == [[1, 2, 2]]


def test_ctc_beam_token_prune_keeps_likely_labels():
    lp = one_hot_log_probs([[1, 0, 2, 2, 0, 3]], 6, peak=0.7)
    assert ctc_beam_decode(lp, [6], beam=3, token_prune=1) == [[1, 2, 3]]


# --------------------------------------------------------------------------------------------- masks


def test_pad_mask_from_lengths():
    m = pad_mask_from_lengths(torch.tensor([3, 1, 0]), max_len=4)
    assert m.dtype == torch.bool and m.shape == (3, 4)
    assert m.tolist() == [[False, False, False, True], [False, True, True, True], [True] * 4]
    assert pad_mask_from_lengths(torch.tensor([2, 5])).shape == (2, 5)


def test_causal_mask_blocks_future_positions():
    m = causal_mask(4)
    assert m.tolist() == [[False, True, True, True], [False, False, True, True],
                          [False, False, False, True], [False, False, False, False]]


# --- JoeyNMT / slt beam search (the SLRTP evaluator's) ---------------------------------------------

# Step 0 keeps A (log .6) and B (log .2); at step 1 B's beam ends in eos while A's beam (A B) stays on
# top, so [B] is recorded (log .2 + log .97 = -1.640) and the item goes on; at step 2 (A B eos) tops the
# beam and ends the item with log .6 + log .8 + log .4 = -1.650. With no length penalty (alpha -1)
# the earlier, shorter [B] scores higher and is the answer.
EARLY_FINISH = {(): {A: 0.6, B: 0.2, C: 0.1, EOS: 0.1}, (A,): {B: 0.8, EOS: 0.1, A: 0.05},
                (A, B): {EOS: 0.4, A: 0.31, C: 0.29}}


def rows_step(tables):
    """Step function using ``tables[batch item]`` (see ``table_step``)."""
    steps = [table_step(t) for t in tables]

    def step(prefix, rows):
        out = torch.empty(prefix.size(0), V)
        for i, r in enumerate(rows.tolist()):
            out[i] = steps[r](prefix[i:i + 1], rows[i:i + 1]).log_probs[0]
        return StepOutput(out)

    return step


def test_joey_beam_keeps_a_finished_lower_beam_and_returns_the_best_recorded():
    out = joey_beam_search(table_step(EARLY_FINISH), 1, beam=2, bos_id=BOS, eos_id=EOS, max_len=10)
    assert out == [[B]]
    # with beam 1 (one live prefix) [B] is never kept, so (A B) is the answer
    greedy = joey_beam_search(table_step(EARLY_FINISH), 1, beam=1, bos_id=BOS, eos_id=EOS, max_len=10)
    assert greedy == [[A, B]]


def test_joey_beam_continues_finished_beams_and_records_a_prefix_once():
    # eos is the second-best first token: [] is recorded at step 0 (log .3 = -1.204) and its beam,
    # (eos ...), keeps being extended; A B eos (-1.650) ends the item later, so [] wins
    table = {(): {A: 0.6, EOS: 0.3, B: 0.05, C: 0.05}, (A,): {B: 0.8, EOS: 0.1, A: 0.05},
             (EOS,): {EOS: 0.05, A: 0.3, B: 0.3, C: 0.35}, (A, B): {EOS: 0.4, A: 0.31, C: 0.29}}
    assert joey_beam_search(table_step(table), 1, beam=2, bos_id=BOS, eos_id=EOS, max_len=10) == [[]]


def test_joey_beam_at_max_len_returns_the_top_unfinished_beam_and_batch_items_are_independent():
    chain = {(): {A: 0.9}, (A,): {B: 0.9}, (A, B): {C: 0.9}}
    assert joey_beam_search(table_step(chain), 1, beam=3, bos_id=BOS, eos_id=EOS, max_len=2) == [[A, B]]
    tables = [EARLY_FINISH, chain, {(): {C: 0.7, EOS: 0.2}}]
    step = rows_step(tables)
    together = joey_beam_search(step, 3, beam=2, bos_id=BOS, eos_id=EOS, max_len=4)
    alone = [joey_beam_search(table_step(t), 1, beam=2, bos_id=BOS, eos_id=EOS, max_len=4)[0] for t in tables]
    assert together == alone == [[B], [A, B, C], [C]]


def test_joey_beam_length_penalty_applies_only_above_minus_one():
    # alpha 1 divides by ((5 + n) / 6): the longer (A B) (-1.650 / (8/6) = -1.238) beats [B]
    # (-1.640 / (7/6) = -1.406), unlike with alpha -1
    out = joey_beam_search(table_step(EARLY_FINISH), 1, beam=2, bos_id=BOS, eos_id=EOS, max_len=10, alpha=1.0)
    assert out == [[A, B]]
