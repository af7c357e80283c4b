"""Sequence models of the pipeline, built from one set of shared pieces.

- ``config``: what the model configs share without torch (``TransformerConfig``, norm and activation
  names, the special-id check), so config sections are checked without importing torch.
- ``blocks``: positional encoding, frame and token embeddings, mask helpers, the label-smoothed loss
  and ``Seq2SeqTransformer`` (pre-norm encoder-decoder with ``encode`` / ``decode``).
- ``decoding``: greedy and batched beam search over any step function (with pluggable per-step score
  terms), and CTC greedy / prefix beam decoding for a CTC head on an encoder.
- ``back_translation``: the Sign Language Transformer that turns 178x3 skeleton sequences into text
  (the SLRTP 2025 back-translation evaluator, trained inside the pipeline).
- ``signjoey``: neccam/slt's Sign Language Transformer with slt's parameter names, so the SLRTP 2025
  evaluation's own back-translator checkpoint loads into it (decoded with ``decoding.joey_beam_search``).

Conventions: batch-first tensors; a ``*_pad`` mask is bool with True marking padding (the PyTorch
``key_padding_mask`` convention, i.e. ``~mask`` of :func:`pipelib.batching.pad_sequences`); token ids
of decoded outputs never include ``<bos>`` / ``<eos>``. Model modules import neither data loading
nor the trainer.
"""
