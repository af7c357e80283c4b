"""Decoding: greedy and batched beam search for autoregressive decoders, CTC greedy and prefix beam search.

Autoregressive search works on a *step function* ``step(prefix (N, t), rows (N,)) -> StepOutput``:
``prefix`` holds the tokens so far (``<bos>`` first), ``rows`` the batch item of each prefix, and the
output the next-token log-probs (N, V) plus, optionally, what a score term needs (cross-attention).
A *score term* ``term(prefix, output) -> (N, V) or (N, 1)`` is added to the step's log-probs before
ranking, so a penalty (e.g. SignX's attention entropy) plugs in without touching the search.

Beam scores follow JoeyNMT / SLT: a finished hypothesis of ``n`` generated tokens (``<eos>`` included)
scores ``sum of step scores / ((5 + n) / 6) ** alpha``. Outputs never contain ``<bos>`` / ``<eos>``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch


@dataclass
class StepOutput:
    """One decoding step: ``log_probs`` (N, V) of the next token; ``attention`` (N, T) of the newest
    position over the source, when the step function provides it."""

    log_probs: torch.Tensor
    attention: torch.Tensor | None = None


StepFn = Callable[[torch.Tensor, torch.Tensor], StepOutput]
ScoreTerm = Callable[[torch.Tensor, StepOutput], torch.Tensor]


@dataclass(frozen=True)
class Hypothesis:
    """A finished beam: ``tokens`` without bos/eos, ``score`` length-normalised, ``total`` unnormalised."""

    tokens: list[int]
    score: float
    total: float


def length_penalty(length: int, alpha: float) -> float:
    """((5 + length) / 6) ** alpha (Wu et al. 2016, as JoeyNMT); 1 for alpha = 0."""
    return ((5.0 + length) / 6.0) ** alpha


def _step_scores(step_fn: StepFn, prefix: torch.Tensor, rows: torch.Tensor, score_terms: Sequence[ScoreTerm],
                 banned: Sequence[int]) -> torch.Tensor:
    out = step_fn(prefix, rows)
    scores = out.log_probs.float()  # (N, V)
    for term in score_terms:
        scores = scores + term(prefix, out)
    if banned:
        scores = scores.clone()
        scores[:, list(banned)] = float("-inf")
    return scores


def _strip(tokens: list[int], eos_id: int) -> list[int]:
    return tokens[: tokens.index(eos_id)] if eos_id in tokens else tokens


def greedy_decode(step_fn: StepFn, batch_size: int, *, bos_id: int, eos_id: int, max_len: int,
                  score_terms: Sequence[ScoreTerm] = (), banned: Sequence[int] = (),
                  device: torch.device | str | None = None) -> list[list[int]]:
    """Most probable next token at every step, for ``batch_size`` items; at most ``max_len`` tokens
    are generated per item (``<eos>`` counted), so an output without ``<eos>`` has ``max_len`` tokens."""
    prefix = torch.full((batch_size, 1), bos_id, dtype=torch.long, device=device)  # (B, 1)
    rows = torch.arange(batch_size, device=device)  # (B,)
    done = torch.zeros(batch_size, dtype=torch.bool, device=device)
    for _ in range(max_len):
        nxt = _step_scores(step_fn, prefix, rows, score_terms, banned).argmax(-1)  # (B,)
        nxt = torch.where(done, torch.full_like(nxt, eos_id), nxt)
        prefix = torch.cat([prefix, nxt[:, None]], dim=1)  # (B, t + 1)
        done |= nxt == eos_id
        if bool(done.all()):
            break
    return [_strip(row[1:], eos_id) for row in prefix.tolist()]


def beam_search_hypotheses(step_fn: StepFn, batch_size: int, *, beam: int, bos_id: int, eos_id: int,
                           max_len: int, alpha: float = 1.0, n_best: int = 1,
                           score_terms: Sequence[ScoreTerm] = (), banned: Sequence[int] = (),
                           device: torch.device | str | None = None) -> list[list[Hypothesis]]:
    """Batched beam search; per item the ``n_best`` hypotheses, best first.

    Each step expands the ``beam`` live prefixes of every item, takes the 2 * beam best candidates,
    finishes those among the first ``beam`` that end in ``<eos>`` and keeps the ``beam`` best others
    alive. An item stops when its best candidate ends in ``<eos>`` (the JoeyNMT / SLT rule); after
    ``max_len`` steps its live prefixes are finished as they are. Finished hypotheses are then ranked
    by length-normalised score. ``beam = 1`` gives the greedy result.
    """
    if beam < 1 or max_len < 1:
        raise ValueError(f"beam and max_len must be >= 1, got beam={beam}, max_len={max_len}")
    k, b_size = beam, batch_size
    rows = torch.arange(b_size, device=device).repeat_interleave(k)  # (B*k,) batch item of each prefix
    prefix = torch.full((b_size * k, 1), bos_id, dtype=torch.long, device=device)  # (B*k, 1)
    scores = torch.full((b_size, k), float("-inf"), device=device)  # (B, k) summed step scores
    scores[:, 0] = 0.0  # one live prefix per item at the start
    finished: list[list[Hypothesis]] = [[] for _ in range(b_size)]
    done = [False] * b_size
    base = (torch.arange(b_size, device=device) * k)[:, None]  # (B, 1) first row of each item

    for step in range(max_len):
        step_scores = _step_scores(step_fn, prefix, rows, score_terms, banned)  # (B*k, V)
        v = step_scores.size(1)
        cand = (scores.reshape(-1, 1) + step_scores).reshape(b_size, k * v)  # (B, k*V)
        n_cand = min(2 * k, k * v)
        top, idx = cand.topk(n_cand, dim=1)  # (B, 2k)
        src_beam, tok = idx // v, idx % v  # (B, 2k)
        is_eos = tok == eos_id

        lp = length_penalty(step + 1, alpha)
        ends = (is_eos[:, :k] & torch.isfinite(top[:, :k])).nonzero().tolist()
        for b, j in ends:
            if not done[b]:
                tokens = prefix[b * k + int(src_beam[b, j]), 1:].tolist()
                total = float(top[b, j])
                finished[b].append(Hypothesis(tokens, total / lp, total))

        # the k best candidates that do not end in eos, in score order
        order = (is_eos.long() * n_cand + torch.arange(n_cand, device=top.device)).argsort(dim=1)[:, :k]
        keep_tok = tok.gather(1, order)  # (B, k)
        scores = top.gather(1, order).masked_fill(keep_tok == eos_id, float("-inf"))  # (B, k)
        parents = (base + src_beam.gather(1, order)).reshape(-1)  # (B*k,)
        prefix = torch.cat([prefix[parents], keep_tok.reshape(-1, 1)], dim=1)  # (B*k, t + 1)

        done = [d or bool(e) for d, e in zip(done, is_eos[:, 0].tolist(), strict=True)]
        if all(done):
            break

    lp = length_penalty(prefix.size(1) - 1, alpha)
    for b in range(b_size):
        if done[b]:
            continue
        for j in range(k):
            total = float(scores[b, j])
            if math.isfinite(total):
                finished[b].append(Hypothesis(prefix[b * k + j, 1:].tolist(), total / lp, total))
    return [sorted(f, key=lambda h: -h.score)[:n_best] for f in finished]


def beam_search(step_fn: StepFn, batch_size: int, *, beam: int, bos_id: int, eos_id: int, max_len: int,
                alpha: float = 1.0, score_terms: Sequence[ScoreTerm] = (), banned: Sequence[int] = (),
                device: torch.device | str | None = None) -> list[list[int]]:
    """Token ids of the best beam-search hypothesis of each item (see ``beam_search_hypotheses``)."""
    best = beam_search_hypotheses(step_fn, batch_size, beam=beam, bos_id=bos_id, eos_id=eos_id,
                                  max_len=max_len, alpha=alpha, score_terms=score_terms, banned=banned,
                                  device=device)
    return [h[0].tokens if h else [] for h in best]


def joey_beam_search(step_fn: StepFn, batch_size: int, *, beam: int, bos_id: int, eos_id: int, max_len: int,
                     alpha: float = -1.0, device: torch.device | str | None = None) -> list[list[int]]:
    """Beam search with the rules of JoeyNMT / neccam/slt's ``beam_search`` (what the SLRTP evaluator
    decodes with); per item the best hypothesis' token ids, cut before its first ``<eos>``.

    The rules, which differ from :func:`beam_search_hypotheses`:

    - each step ranks all ``beam * V`` extensions of an item's ``beam`` live prefixes by summed
      log-prob (divided by the length penalty ``((5 + step + 1) / 6) ** alpha`` when alpha > -1; alpha
      = -1 means none) and keeps the best ``beam``; no token is banned;
    - a kept extension ending in ``<eos>`` is recorded as a hypothesis with that score but stays in the
      beam and keeps being extended (a prefix holding two ``<eos>`` is never recorded again);
    - an item ends when its best kept extension ends in ``<eos>``, or at step ``max_len``; then all its
      kept extensions are recorded too, and its answer is the highest-scoring hypothesis recorded (the
      first recorded among equal scores).
    """
    if beam < 1 or max_len < 1:
        raise ValueError(f"beam and max_len must be >= 1, got beam={beam}, max_len={max_len}")
    k = beam
    alive = list(range(batch_size))                                              # batch items still decoding
    prefix = torch.full((batch_size * k, 1), bos_id, dtype=torch.long, device=device)   # (n*k, t)
    scores = torch.zeros(batch_size, k, device=device)                           # (n, k) summed log-probs
    scores[:, 1:] = float("-inf")
    found: list[list[tuple[float, list[int]]]] = [[] for _ in range(batch_size)]
    best: list[list[int]] = [[] for _ in range(batch_size)]
    for step in range(max_len):
        n = len(alive)
        rows = torch.tensor(alive, device=prefix.device).repeat_interleave(k)    # (n*k,)
        logp = step_fn(prefix, rows).log_probs.float()                           # (n*k, V)
        v = logp.size(1)
        cand = logp + scores.reshape(-1, 1)                                      # (n*k, V)
        penalty = ((5.0 + step + 1) / 6.0) ** alpha if alpha > -1 else 1.0
        top, idx = (cand / penalty).reshape(n, k * v).topk(k, dim=1)             # (n, k)
        scores = top * penalty if alpha > -1 else top.clone()
        parents = (torch.arange(n, device=idx.device) * k)[:, None] + idx // v   # (n, k) rows of prefix
        prefix = torch.cat([prefix[parents.reshape(-1)], (idx % v).reshape(-1, 1)], dim=1)  # (n*k, t+1)
        ends = (idx % v) == eos_id                                               # (n, k)
        if step + 1 == max_len:
            ends[:] = True
        if not bool(ends.any()):
            continue
        done = ends[:, 0].tolist()
        seqs = prefix.reshape(n, k, -1)[:, :, 1:].tolist()                       # without bos
        top_list, ends_list = top.tolist(), ends.tolist()
        for i in range(n):
            item = alive[i]
            for j in range(k):
                if (ends_list[i][j] or done[i]) and seqs[i][j].count(eos_id) < 2:
                    found[item].append((top_list[i][j], seqs[i][j]))
            if done[i]:
                tokens = max(found[item], key=lambda h: h[0])[1]                 # first among equal scores
                best[item] = tokens[: tokens.index(eos_id)] if eos_id in tokens else tokens
        keep = [i for i in range(n) if not done[i]]
        if not keep:
            break
        alive = [alive[i] for i in keep]
        keep_t = torch.tensor(keep, device=prefix.device)
        scores = scores[keep_t]
        prefix = prefix.reshape(n, k, -1)[keep_t].reshape(len(keep) * k, -1)
    return best


# --------------------------------------------------------------------------------------------- CTC


def _collapse(path: Sequence[int], blank: int) -> list[int]:
    """Merge repeated labels, then drop blanks (the CTC many-to-one map)."""
    return [c for i, c in enumerate(path) if c != blank and (i == 0 or c != path[i - 1])]


def ctc_greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int],
                      blank: int = 0) -> list[list[int]]:
    """Best-path decoding: per frame argmax over log_probs (T, B, V) up to each item's length, collapsed."""
    best = log_probs.argmax(-1).t().cpu().tolist()  # (B, T)
    lengths = [int(n) for n in lengths]
    return [_collapse(path[:n], blank) for path, n in zip(best, lengths, strict=True)]


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    hi, lo = (a, b) if a > b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def _ctc_prefix_search(lp: list[list[float]], beam: int, blank: int, token_prune: int | None) -> list[int]:
    """Prefix beam search over one item's (T, V) log-probs; returns the label sequence whose summed
    path probability (ending in blank or not) is largest among the surviving prefixes."""
    neg = -math.inf
    # prefix -> (log p of its paths ending in blank, log p of those ending in its last label)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, neg)}
    for frame in lp:
        labels = [c for c in range(len(frame)) if c != blank]
        if token_prune is not None and token_prune < len(labels):
            labels = sorted(labels, key=lambda c: -frame[c])[:token_prune]
        nxt: dict[tuple[int, ...], list[float]] = {}
        for prefix, (pb, pl) in beams.items():
            total = _logaddexp(pb, pl)
            entry = nxt.setdefault(prefix, [neg, neg])
            entry[0] = _logaddexp(entry[0], total + frame[blank])  # emit blank
            last = prefix[-1] if prefix else None
            if last is not None:
                entry[1] = _logaddexp(entry[1], pl + frame[last])  # repeat the last label: same prefix
            for c in labels:
                ext = nxt.setdefault(prefix + (c,), [neg, neg])
                # a repeated label only starts a new symbol after a blank
                ext[1] = _logaddexp(ext[1], (pb if c == last else total) + frame[c])
        ranked = sorted(nxt.items(), key=lambda kv: -_logaddexp(kv[1][0], kv[1][1]))[:beam]
        beams = {p: (s[0], s[1]) for p, s in ranked}
    best = max(beams.items(), key=lambda kv: _logaddexp(kv[1][0], kv[1][1]))
    return list(best[0])


def ctc_beam_decode(log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int], beam: int,
                    blank: int = 0, token_prune: int | None = None) -> list[list[int]]:
    """CTC prefix beam search over log_probs (T, B, V) up to each item's length.

    Keeps the ``beam`` label prefixes with the largest summed probability over all alignments, so it
    can prefer a sequence that no single best path spells. ``token_prune``: only that many most likely
    labels per frame may extend a prefix (None: all; set it for large vocabularies).
    """
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    lp = log_probs.detach().double().cpu()
    lengths = [int(n) for n in lengths]
    return [_ctc_prefix_search(lp[:n, b].tolist(), beam, blank, token_prune) for b, n in enumerate(lengths)]
