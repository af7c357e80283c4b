"""signx.spread: the seeds section, and the per-seed rows and summaries of spread.csv."""

import numpy as np
import pandas as pd
import pytest

from pipelib.sections import SectionError
from pipelib.signx.recognition import COLUMNS as RECOGNITION_COLUMNS
from pipelib.signx.spread import COLUMNS, seed_rows, summarise
from pipelib.signx.spread_section import SpreadSection


def test_section_puts_the_primary_seed_first_once_and_refuses_repeats():
    assert SpreadSection.from_dict(None).all_seeds(7) == (7,)
    assert SpreadSection.from_dict({"seeds": [1, 7, 2]}).all_seeds(7) == (7, 1, 2)
    with pytest.raises(SectionError, match="signx.spread.seeds: each seed once"):
        SpreadSection.from_dict({"seeds": [1, 1]})
    with pytest.raises(SectionError, match="signx.spread.seedz"):
        SpreadSection.from_dict({"seedz": [1]})


def recognition(wer: dict[tuple[str, str], float]) -> pd.DataFrame:
    """A recognition table (recognition.csv's columns) with WER per (system, decoding) on test glosses."""
    rows = [{c: np.nan for c in RECOGNITION_COLUMNS} | {"system": system, "target": "gloss", "decoding": dec,
                                                         "split": "test", "n_sequences": 32, "WER": w,
                                                         "WER_lo": w - 5, "WER_hi": w + 5}
            for (system, dec), w in wer.items()]
    return pd.DataFrame(rows, columns=RECOGNITION_COLUMNS)


def test_seed_rows_pair_each_video_row_with_its_latent_row_and_summaries_are_over_seeds():
    latent = {("SignX-latent-gloss", "beam8"): 16.0, ("SignX-latent-gloss", "ctc-greedy"): 10.0,
              ("most-frequent-train", "constant"): 100.0}
    videos = {7: (25.0, 18.0), 1: (32.0, 20.0), 2: (40.0, 16.0)}
    per_seed = pd.concat([
        seed_rows(recognition(latent | {("SignX-video-gloss", "beam8"): beam,
                                        ("SignX-video-gloss", "ctc-greedy"): ctc}), seed, 0.9 - seed / 100,
                  0.2 + seed / 100)
        for seed, (beam, ctc) in videos.items()], ignore_index=True)
    assert per_seed["seed"].tolist() == [7, 7, 1, 1, 2, 2]                  # the primary seed first
    beam = per_seed[per_seed["decoding"] == "beam8"].set_index("seed")
    assert beam["WER_latent"].eq(16.0).all() and beam.loc[7, "WER_video"] == 25.0
    assert beam.loc[7, "WER_ratio"] == pytest.approx(25 / 16) and beam.loc[1, "WER_video_hi"] == 37.0
    assert beam.loc[2, "dev_latent_mse"] == pytest.approx(0.22) and beam["recognizer"].eq("gloss").all()
    assert beam.loc[1, "latent_cos"] == pytest.approx(0.89)
    table = summarise(per_seed)
    assert list(table.columns) == COLUMNS and table["row"].tolist() == ["seed"] * 6 + [
        "mean", "mean", "sd", "sd", "min", "min", "max", "max"]
    s = table[(table["row"] != "seed") & (table["decoding"] == "beam8")].set_index("row")
    assert s.loc["mean", "WER_video"] == pytest.approx(97 / 3)
    assert s.loc["sd", "WER_video"] == pytest.approx(np.std([25, 32, 40], ddof=1))
    assert (s.loc["min", "WER_video"], s.loc["max", "WER_video"]) == (25.0, 40.0)
    assert s.loc["max", "WER_ratio"] == pytest.approx(40 / 16) and s["seed"].isna().all()
    assert s.loc["min", "latent_cos"] == pytest.approx(0.83)
    assert s.loc["sd", "WER_latent"] == 0 and s["n_sequences"].eq(32).all()


def test_a_video_row_without_its_latent_row_is_an_error_and_zero_latent_wer_gives_no_ratio():
    with pytest.raises(ValueError, match="without a latent row"):
        seed_rows(recognition({("SignX-video-gloss", "beam8"): 20.0}), 7, 0.9, 0.1)
    rows = seed_rows(recognition({("SignX-latent-gloss", "beam8"): 0.0,
                                  ("SignX-video-gloss", "beam8"): 20.0}), 7, 0.9, 0.1)
    assert np.isnan(rows["WER_ratio"].iloc[0])
    one = summarise(rows).set_index("row")
    assert np.isnan(one.loc["sd", "WER_video"]) and one.loc["mean", "WER_video"] == 20.0
