"""SignX attention-entropy penalty for decoder beam search (paper section 4.2, Algorithm 3).

Each expansion of a hypothesis y scores ``s + log p(w) - alpha * AttnEntropy(y, H)``: hypotheses whose
newest cross-attention over the encoder states is spread out (high entropy, "erratic") lose score, so
the search prefers outputs that stay focused on the latent pose evidence. As a
``pipelib.models.decoding`` score term it returns one value per prefix (N, 1), added to every token's
log-prob; the step function must supply the attention (``Seq2SeqTransformer.step_fn(...,
with_attention=True)``).
"""

from __future__ import annotations

import torch

from pipelib.models.decoding import ScoreTerm, StepOutput


def attention_entropy(attn: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Shannon entropy in nats of each attention row: attn (N, T) rows summing to 1 -> (N,).

    Padding positions carry weight 0 and contribute 0 (0 log 0 = 0); a uniform row over n positions
    gives log n, a one-hot row 0."""
    p = attn.float().clamp(min=0.0)  # (N, T)
    return -(p * torch.log(p.clamp(min=eps))).sum(-1)  # (N,)


def entropy_penalty(weight: float) -> ScoreTerm:
    """Score term ``-weight * attention_entropy(newest cross-attention)`` of shape (N, 1).

    ``weight`` is the paper's alpha (config ``signx.recognizer.model.entropy_weight``), >= 0."""
    if weight < 0:
        raise ValueError(f"entropy penalty weight must be >= 0 (high entropy is penalised), got {weight}")

    def term(prefix: torch.Tensor, out: StepOutput) -> torch.Tensor:
        if out.attention is None:
            raise ValueError("the entropy penalty needs the decoder's cross-attention: build the step "
                             "function with Seq2SeqTransformer.step_fn(memory, pad, with_attention=True)")
        return -weight * attention_entropy(out.attention)[:, None]  # (N, 1)

    return term
