"""The recogniser's model config (``signx.recognizer.model``) and the ``decoding`` section, importable
without torch: the workflow checks them whenever it starts. The model is in
:mod:`pipelib.signx.recognizer`, which re-exports these names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pipelib.models.config import TransformerConfig
from pipelib.sections import from_section

CONFIG_KEY = "signx.recognizer.model"
TARGETS = ("gloss", "text")


@dataclass(frozen=True)
class DecodingConfig:
    """The ``decoding`` section of ``signx.recognizer`` and ``signx.recognition``: a key left out (None)
    keeps the recogniser's own value (:class:`RecognizerConfig` when training, the checkpoint's when
    scoring). :data:`DECODING_FIELDS` names the RecognizerConfig field each key sets."""

    beam: int | None = None
    entropy_penalty: float | None = None
    max_output_length: int | None = None
    length_alpha: float | None = None

    def given(self) -> dict[str, Any]:
        """The keys that were set, as ``{key: value}``."""
        return {k: v for k, v in asdict(self).items() if v is not None}


#: DecodingConfig key -> the RecognizerConfig field it sets
DECODING_FIELDS = {"beam": "beam_size", "entropy_penalty": "entropy_weight",
                   "max_output_length": "max_output_length", "length_alpha": "length_alpha"}


@dataclass(frozen=True)
class RecognizerConfig:
    """Every hyperparameter of :class:`LatentRecognizer`. Paper values are the defaults where it gives
    them (kernels 3/5/7, h_t 1024, BiLSTM 2 x 512, Transformer 6 + 6 layers of width 256, dropouts
    0.3 / 0.5 / 0.4, label smoothing 0.1, 8 beams); heads, ffn, conv widths and the other dropouts are ours.
    ``gloss_vocab_size`` / ``text_vocab_size`` are ``len(vocab)`` of the training glosses / words."""

    gloss_vocab_size: int = 0
    text_vocab_size: int = 0       # only for target: text
    target: str = "gloss"          # gloss | text: what the decoder generates
    input_dim: int = 2048          # width of the per-frame latents
    conv_kernels: tuple[int, ...] = (3, 5, 7)
    conv_channels: int = 512       # output channels of each parallel conv branch
    conv_blocks: int = 2           # each halves T (ceil): 2 -> ceil(T / 4)
    hidden: int = 1024             # h_t after each block's projection
    lstm_hidden: int = 512         # per direction; u_t has 2 * lstm_hidden values
    lstm_layers: int = 2
    d_model: int = 256
    enc_layers: int = 6
    dec_layers: int = 6
    heads: int = 8
    ffn: int = 1024
    conv_dropout: float = 0.1
    lstm_dropout: float = 0.1
    attn_dropout: float = 0.3
    relu_dropout: float = 0.5
    residual_dropout: float = 0.4
    embedding_dropout: float = 0.1
    label_smoothing: float = 0.1
    ctc_weight: float = 1.0
    ce_weight: float = 1.0
    smooth_weight: float = 0.0     # latent-space (Lipschitz-ball) regulariser on encoder states
    smooth_radius: float = 1.0
    beam_size: int = 8
    length_alpha: float = 1.0      # length penalty exponent of the decoder beam search
    entropy_weight: float = 0.1    # alpha of Algorithm 3: score -= weight * attention entropy (nats)
    ctc_beam_size: int = 1         # 1: CTC greedy; more: CTC prefix beam search
    max_output_length: int = 64
    pad_id: int = 0                # also the CTC blank
    bos_id: int = 1
    eos_id: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "conv_kernels", tuple(self.conv_kernels))  # YAML gives lists

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = CONFIG_KEY) -> RecognizerConfig:
        """Config from a (YAML) dict; unknown keys and bad values raise ValueError naming ``where.key``."""
        data = dict(data or {})
        kernels = data.get("conv_kernels", (3, 5, 7))
        if not isinstance(kernels, list | tuple) or not kernels:
            raise ValueError(f"{where}.conv_kernels: must be a non-empty list of odd ints, got {kernels!r}")
        cfg = from_section(cls, data, where)
        cfg.validate(where)
        return cfg

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["conv_kernels"] = list(self.conv_kernels)  # JSON-ready
        return out

    @property
    def decoder_vocab_size(self) -> int:
        """Size of the vocabulary the decoder generates (gloss or text)."""
        return self.gloss_vocab_size if self.target == "gloss" else self.text_vocab_size

    def validate(self, where: str = CONFIG_KEY) -> None:
        """Raise ValueError naming the key when a value cannot work."""
        for key in ("input_dim", "conv_channels", "conv_blocks", "hidden", "lstm_hidden", "lstm_layers",
                    "d_model", "enc_layers", "dec_layers", "heads", "ffn", "beam_size", "ctc_beam_size",
                    "max_output_length"):
            if getattr(self, key) < 1:
                raise ValueError(f"{where}.{key}: must be >= 1, got {getattr(self, key)}")
        for k in self.conv_kernels:
            if isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0:
                raise ValueError(f"{where}.conv_kernels: every kernel must be an odd int >= 1 (same "
                                 f"padding), got {list(self.conv_kernels)}")
        if self.target not in TARGETS:
            raise ValueError(f"{where}.target: must be one of {list(TARGETS)}, got {self.target!r}")
        if self.gloss_vocab_size < 5:
            raise ValueError(f"{where}.gloss_vocab_size: must be len(vocab) of the training glosses (>= 5: "
                             f"the 4 specials and a gloss), got {self.gloss_vocab_size}")
        if self.target == "text" and self.text_vocab_size < 5:
            raise ValueError(f"{where}.text_vocab_size: target is text, so it must be len(vocab) of the "
                             f"training words (>= 5), got {self.text_vocab_size}")
        if self.d_model % self.heads:
            raise ValueError(f"{where}.d_model: must be divisible by heads ({self.heads}), "
                             f"got {self.d_model}")
        if self.d_model % 2:
            raise ValueError(f"{where}.d_model: must be even (sinusoidal positions), got {self.d_model}")
        for key in ("conv_dropout", "lstm_dropout", "attn_dropout", "relu_dropout", "residual_dropout",
                    "embedding_dropout", "label_smoothing"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ValueError(f"{where}.{key}: must be in [0, 1), got {getattr(self, key)}")
        for key in ("ctc_weight", "ce_weight", "smooth_weight", "smooth_radius", "entropy_weight",
                    "length_alpha"):
            if getattr(self, key) < 0:
                raise ValueError(f"{where}.{key}: must be >= 0, got {getattr(self, key)}")
        if self.ctc_weight == 0 and self.ce_weight == 0:
            raise ValueError(f"{where}: ctc_weight and ce_weight are both 0; nothing would be trained")
        for key in ("pad_id", "bos_id", "eos_id"):
            if not 0 <= getattr(self, key) < min(self.gloss_vocab_size, self.decoder_vocab_size):
                raise ValueError(f"{where}.{key}: must be a token id below the vocabulary sizes, "
                                 f"got {getattr(self, key)}")
        if len({self.pad_id, self.bos_id, self.eos_id}) != 3:
            raise ValueError(f"{where}: pad_id, bos_id and eos_id must differ, got "
                             f"{self.pad_id}, {self.bos_id}, {self.eos_id}")

    def transformer(self) -> TransformerConfig:
        """Shape of the encoder-decoder; ``dropout`` is the residual rate (attention and feed-forward
        rates are set per module by :func:`set_transformer_dropout`)."""
        return TransformerConfig(vocab_size=self.decoder_vocab_size, d_model=self.d_model,
                                 enc_layers=self.enc_layers, dec_layers=self.dec_layers, heads=self.heads,
                                 ffn=self.ffn, dropout=self.residual_dropout,
                                 emb_dropout=self.embedding_dropout, pad_id=self.pad_id)
