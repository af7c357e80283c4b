"""The SLRTP 2025 back-translator, read from its model directory without running pickled code.

Directory (as the challenge archive ships ``backTranslation_PHIX_model/``):

- ``config.yaml``: a neccam/slt config (``data.feature_size``, ``data.max_sent_length``, ``model.encoder``
  / ``model.decoder``, ``training.recognition_loss_weight`` ...); optional ``data.gls_vocab`` /
  ``data.txt_vocab`` name vocabulary files when the directory has none;
- ``best.ckpt``, else the ``*.ckpt`` with the newest change time (as the evaluator picks it): weights
  under ``model_state``;
- ``txt.vocab`` (and ``gls.vocab`` when the model has a recognition head): one token per line; the
  specials ``<unk> <pad> <s> </s>`` (text) and ``<si> <unk> <pad>`` (glosses) come first, then the
  file's tokens not already present.

The checkpoint is a full pickle written by the slt trainer. It is read with
``torch.load(weights_only=True)``, which rebuilds only tensors, plain containers and numbers (numpy
scalars are allowed too); a file that needs anything else is refused with the globals it names. A
user who trusts such a file converts it once, explicitly::

    python -m pipelib.evaluation.slrtp_model convert /path/to/backTranslation_PHIX_model

which unpickles it fully and writes ``best.weights.pt`` beside it (only ``model_state``, plus the
checkpoint's sha256); later loads use that file while the checkpoint is unchanged.

Decoding follows the evaluator: the frames it scores (``metrics.scoring_frames``: every second
ground-truth frame, predictions likewise when at the ground truth's rate) flattened to (T, 534),
padded to the longest sequence, batches of 32, beam 3 with alpha -1 (no length penalty), at most
``data.max_sent_length`` words, the translation head only; words are the vocabulary's tokens joined by
spaces (``<unk>`` included), cut before ``</s>``. Unlike the evaluator, it runs on CPU as well as on GPU.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pipelib.provenance import file_sha256
from pipelib.skeletons.layout import N_VALUES, SLRTP

log = logging.getLogger("pipelib.evaluation")

TEXT_SPECIALS = ("<unk>", "<pad>", "<s>", "</s>")
GLOSS_SPECIALS = ("<si>", "<unk>", "<pad>")
BEAM, ALPHA, BATCH_SIZE = 3, -1.0, 32
CONVERTED = "best.weights.pt"
CONVERTED_FORMAT = "pipelib.slrtp_weights/1"


@dataclass(frozen=True)
class ModelFiles:
    """The files of one model directory; ``weights`` is the converted file, when there is one."""

    directory: Path
    config: Path
    checkpoint: Path | None
    weights: Path | None
    txt_vocab: Path
    gls_vocab: Path | None

    def inputs(self) -> list[Path]:
        """Every file scoring depends on (for Snakemake inputs and provenance)."""
        return [p for p in (self.config, self.checkpoint, self.weights, self.txt_vocab, self.gls_vocab) if p]


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed ``config.yaml``; ValueError naming the file if it is not a mapping."""
    with open(path, encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    if not isinstance(cfg, dict):
        raise ValueError(f"{path} is not an slt config (a YAML mapping with data, model, training)")
    return cfg


def _vocab_path(directory: Path, data: dict[str, Any], name: str, required: bool) -> Path | None:
    own = directory / f"{name}.vocab"
    if own.is_file():
        return own
    given = data.get(f"{name}_vocab")
    if given:
        for cand in (directory / given, Path(given)):
            if cand.is_file():
                return cand
    if required:
        raise FileNotFoundError(f"{directory} has no {name}.vocab (and config.yaml data.{name}_vocab names "
                                f"no existing file); copy the back-translator's {name}.vocab beside its "
                                f"config.yaml")
    return None


def find_model_files(model_dir: str | os.PathLike[str]) -> ModelFiles:
    """Locate config, checkpoint (best.ckpt, else the newest *.ckpt), vocabularies and a converted file."""
    d = Path(model_dir).expanduser()
    if not d.is_dir():
        raise FileNotFoundError(f"SLRTP back-translator directory {d} does not exist")
    config = d / "config.yaml"
    if not config.is_file():
        raise FileNotFoundError(f"{d} has no config.yaml; point at the folder that holds the "
                                f"back-translator's config.yaml, best.ckpt, gls.vocab and txt.vocab")
    cfg = read_config(config)
    data = cfg.get("data") or {}
    ckpt = d / "best.ckpt"
    if not ckpt.is_file():
        ckpts = sorted(d.glob("*.ckpt"), key=lambda p: (p.stat().st_ctime, p.name))
        ckpt = ckpts[-1] if ckpts else None
    weights = d / CONVERTED if (d / CONVERTED).is_file() else None
    if ckpt is None and weights is None:
        raise FileNotFoundError(f"{d} has no best.ckpt, no other *.ckpt and no {CONVERTED}")
    recognition = float((cfg.get("training") or {}).get("recognition_loss_weight", 1.0)) > 0
    return ModelFiles(d, config, ckpt, weights, _vocab_path(d, data, "txt", True),
                      _vocab_path(d, data, "gls", recognition))


def read_vocab(path: str | os.PathLike[str], specials: Sequence[str]) -> list[str]:
    """Tokens in id order: ``specials``, then each line of the file (newline removed) not yet listed."""
    tokens = list(specials)
    seen = set(tokens)
    with open(path, encoding="utf-8") as f:
        for line in f:
            tok = line.strip("\n")
            if tok not in seen:
                seen.add(tok)
                tokens.append(tok)
    return tokens


# --------------------------------------------------------------------------------------------- weights


def _numpy_scalar_globals() -> list[Any]:
    """What rebuilding numpy scalars (e.g. a ``best_ckpt_score``) needs, under numpy 1.x and 2.x names."""
    from numpy.core.multiarray import scalar

    allowed: list[Any] = [scalar, (scalar, "numpy._core.multiarray.scalar"), np.dtype]
    allowed += [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith("DType")
                and n[:-5] in {"Float16", "Float32", "Float64", "Int8", "Int16", "Int32", "Int64", "UInt8",
                               "UInt16", "UInt32", "UInt64", "Bool"}]
    return allowed


def _refusal(path: Path, err: Exception) -> ValueError:
    import torch

    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception:  # noqa: BLE001 - only for the message
        names = re.findall(r"GLOBAL ([\w.]+)", str(err))
    allowed = {"numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.dtype"}
    names = [n for n in names if n not in allowed and not n.startswith("numpy.dtypes.")]
    what = (f"it pickles {', '.join(names)}" if names else
            f"torch.load could not read it that way ({str(err).strip().splitlines()[0][:200]})")
    return ValueError(
        f"refused to load {path} with torch.load(weights_only=True): {what}, and unpickling it fully "
        f"could run code. If you trust this file, convert it once with "
        f"`python -m pipelib.evaluation.slrtp_model convert {path.parent}`, which writes "
        f"{path.parent / CONVERTED} (the weights only) for later runs")


def read_checkpoint_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``model_state`` of an slt checkpoint, loaded with weights_only=True (numpy scalars allowed)."""
    import torch

    path = Path(path)
    try:
        with torch.serialization.safe_globals(_numpy_scalar_globals()):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise _refusal(path, err) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise ValueError(f"{path} is not a readable torch checkpoint ({err})") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model_state"), dict):
        raise ValueError(f"{path} has no model_state; an slt checkpoint keeps its weights there")
    return dict(ckpt["model_state"])


def read_model_state(files: ModelFiles) -> tuple[dict[str, Any], Path]:
    """The weights and the file they came from: the converted file while it matches the checkpoint,
    else the checkpoint itself."""
    import torch

    if files.weights is not None:
        conv = torch.load(files.weights, map_location="cpu", weights_only=True)
        if not isinstance(conv, dict) or conv.get("format") != CONVERTED_FORMAT:
            raise ValueError(f"{files.weights} is not a file written by `python -m "
                             f"pipelib.evaluation.slrtp_model convert`; delete it")
        if files.checkpoint is None or conv["source_sha256"] == file_sha256(files.checkpoint):
            return dict(conv["model_state"]), files.weights
        raise ValueError(f"{files.weights} was converted from another checkpoint than {files.checkpoint}; "
                         f"convert again, or delete it")
    assert files.checkpoint is not None
    return read_checkpoint_state(files.checkpoint), files.checkpoint


def convert_checkpoint(model_dir: str | os.PathLike[str]) -> Path:
    """Unpickle the directory's checkpoint fully (run only on a file you trust) and write its weights to
    ``best.weights.pt``, which :func:`read_model_state` loads with weights_only=True."""
    import torch

    files = find_model_files(model_dir)
    if files.checkpoint is None:
        raise FileNotFoundError(f"{files.directory} has no *.ckpt to convert")
    ckpt = torch.load(files.checkpoint, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or "model_state" not in ckpt:
        raise ValueError(f"{files.checkpoint} has no model_state")
    state = {k: v.detach().cpu() for k, v in ckpt["model_state"].items()}
    out = files.directory / CONVERTED
    from pipelib.io.atomic import atomic_path

    with atomic_path(out) as tmp:
        torch.save({"format": CONVERTED_FORMAT, "source": files.checkpoint.name,
                    "source_sha256": file_sha256(files.checkpoint), "model_state": state}, tmp)
    return out


def state_sha256(state: dict[str, Any]) -> str:
    """sha256 over weights (names, dtypes, shapes, values) in key order: names the model, not the file."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(state.items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------- translator


class SlrtpBackTranslator:
    """The official back-translator, ready to translate (T, 534) pose inputs (the scoring frames).

    ``kind`` "slrtp"; ``identity`` names directory, weight file and weights hash; ``layout`` is the
    skeleton layout its training poses had (the challenge's, ``slrtp178``, unless said otherwise).
    """

    kind = "slrtp"

    def __init__(self, model_dir: str | os.PathLike[str], device: str = "cpu", layout: str = SLRTP,
                 batch_size: int = BATCH_SIZE) -> None:
        import torch

        from pipelib.models.signjoey import SignJoeyConfig, SignJoeyModel
        from pipelib.training.checkpoint import check_state_matches

        files = find_model_files(model_dir)
        cfg = read_config(files.config)
        self.txt_itos = read_vocab(files.txt_vocab, TEXT_SPECIALS)
        gls_size = len(read_vocab(files.gls_vocab, GLOSS_SPECIALS)) if files.gls_vocab else 0
        where = str(files.config)
        model_cfg = SignJoeyConfig.from_slt_config(cfg, txt_vocab_size=len(self.txt_itos),
                                                   txt_pad_id=TEXT_SPECIALS.index("<pad>"),
                                                   gls_vocab_size=gls_size, where=where)
        if model_cfg.input_size != N_VALUES:
            raise ValueError(f"{where}: data.feature_size is {model_cfg.input_size}, but a back-translator "
                             f"of 178 x 3 skeletons reads {N_VALUES} values per frame")
        max_len = (cfg.get("data") or {}).get("max_sent_length")
        if not isinstance(max_len, int) or max_len < 1:
            raise ValueError(f"{where}: data.max_sent_length must be a positive integer (the longest "
                             f"translation decoded), got {max_len!r}")
        self.max_len = max_len
        state, source = read_model_state(files)
        model = SignJoeyModel(model_cfg)
        check_state_matches(model, state, source)
        model.load_state_dict(state, strict=True)
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.files, self.layout, self.batch_size = files, layout, int(batch_size)
        self.identity = f"{files.directory.name}/{source.name}@weights-sha256:{state_sha256(state)[:16]}"
        self.bos_id, self.eos_id = TEXT_SPECIALS.index("<s>"), TEXT_SPECIALS.index("</s>")
        log.info("SLRTP back-translator %s: input %d, text vocabulary %d, max %d words, on %s",
                 self.identity, model_cfg.input_size, len(self.txt_itos), max_len, self.device)

    def translate(self, inputs: Sequence[np.ndarray]) -> list[str]:
        """Sentences for (T_i, 534) inputs (the scoring frames), in order (the module doc gives the
        decoding)."""
        from pipelib.batching import pad_sequences

        if not inputs:
            return []
        frames, valid = pad_sequences([np.asarray(x, np.float32) for x in inputs])  # (N, T, 534), (N, T)
        out: list[str] = []
        for start in range(0, len(inputs), self.batch_size):
            x = frames[start:start + self.batch_size].to(self.device)
            m = valid[start:start + self.batch_size].to(self.device)
            ids = self.model.translate(x, m, bos_id=self.bos_id, eos_id=self.eos_id, max_len=self.max_len,
                                       beam=BEAM, alpha=ALPHA)
            out += [" ".join(self.txt_itos[i] for i in seq) for seq in ids]
        return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipelib.evaluation.slrtp_model convert DIR``: see the module doc."""
    parser = argparse.ArgumentParser(prog="python -m pipelib.evaluation.slrtp_model",
                                     description="SLRTP back-translator directories")
    sub = parser.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert", help=f"unpickle DIR's checkpoint (trusted files only) and write "
                                          f"DIR/{CONVERTED}: its weights, loadable with weights_only")
    conv.add_argument("model_dir")
    args = parser.parse_args(argv)
    out = convert_checkpoint(args.model_dir)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
