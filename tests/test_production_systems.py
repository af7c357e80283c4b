"""production.systems: the named generator systems, their seeds and what each run initialises from."""

import pytest
import yaml

from pipelib.production.systems import init_run, parse_systems, trainer, training_section
from pipelib.production.train_generator import train_generator
from pipelib.sections import SectionError

TRAIN = {"epochs": 3, "optimizer": {"name": "adam", "lr": 1.0e-3}}
DARSLP = {"kind": "darslp", "seeds": [2], "train": TRAIN}
DARSLP_KL = {"kind": "darslp", "init_from": "DARSLP", "seeds": [3], "kl": {"region_weights": [1, 10, 6, 1]},
             "train": {"epochs": 2}}


def test_config_yaml_declares_darslp_and_darslp_kl_as_the_paper_trains_them():
    with open("config/config.yaml") as fh:
        cfg = yaml.safe_load(fh)
    systems = parse_systems(cfg["production"]["systems"])
    assert list(systems) == ["DARSLP", "DARSLP-KL"]
    assert systems["DARSLP"].kl is None and systems["DARSLP"].init_from is None
    assert systems["DARSLP-KL"].init_from == "DARSLP"
    assert systems["DARSLP-KL"].kl == {"region_weights": [1, 10, 6, 1], "weight": 1.0}
    assert init_run(systems, "DARSLP-KL", 3) == ("DARSLP", 2) and init_run(systems, "DARSLP", 2) is None


def test_ablation_systems_extend_the_production_systems_in_any_order():
    production = parse_systems({"DARSLP": {"seeds": [2]}})
    extra = parse_systems({"staged": {"seeds": [3], "init_from": "L1", "autoencoder": "ae96"},
                           "L1": {"seeds": [2], "init_from": "DARSLP"}},
                          where="ablations.systems", before=production, autoencoders=["ae96"])
    assert list(extra) == ["staged", "L1"] and extra["staged"].autoencoder == "ae96"
    assert init_run({**production, **extra}, "staged", 3) == ("L1", 2)
    with pytest.raises(SectionError, match="ablations.systems.DARSLP: the name is taken by production"):
        parse_systems({"DARSLP": {"seeds": [1]}}, where="ablations.systems", before=production)
    assert parse_systems({}, where="ablations.systems", before=production) == {}


def test_seeds_pair_by_position_or_all_start_from_a_one_seed_parent():
    systems = parse_systems({"A": {"seeds": [1, 2, 3]}, "B": {"init_from": "A", "seeds": [7, 8, 9]},
                             "C": {"seeds": [5]}, "D": {"init_from": "C", "seeds": [10, 11]},
                             "E": {"init_from": "A", "seeds": [4]}})
    assert [init_run(systems, "B", s) for s in (7, 8, 9)] == [("A", 1), ("A", 2), ("A", 3)]
    assert [init_run(systems, "D", s) for s in (10, 11)] == [("C", 5), ("C", 5)]
    assert init_run(systems, "E", 4) == ("A", 1)  # fewer seeds than its parent: the first runs pair


@pytest.mark.parametrize(("section", "message"), [
    ({}, "production.systems: must map at least one system"),
    ({"GT": {"seeds": [1]}}, "production.systems.GT: a system name"),
    ({"A": {"seeds": [1], "klx": None}}, "production.systems.A.klx: unknown key"),
    ({"A": {"seeds": [1], "kind": "diffusion"}},
     "production.systems.A.kind: unknown generator kind 'diffusion'"),
    ({"A": {"seeds": []}}, "production.systems.A.seeds: expected a list of distinct integer seeds"),
    ({"A": {"seeds": [1, 1]}}, "production.systems.A.seeds"),
    ({"A": {"seeds": [True]}}, "production.systems.A.seeds"),
    ({"A": {"seeds": [1], "train": {"seed": 4}}}, "production.systems.A.train.seed: a system's seeds are"),
    ({"B": {"seeds": [1], "init_from": "C"}, "A": {"seeds": [1]}},
     "production.systems.B.init_from: 'C' is not a configured system (B, A)"),
    ({"A": {"seeds": [1], "init_from": "B"}, "B": {"seeds": [1], "init_from": "A"}},
     "production.systems.A.init_from: systems initialise from each other in a circle (A -> B -> A)"),
    ({"A": {"seeds": [1], "autoencoder": "big"}},
     "production.systems.A.autoencoder: 'big' is not one of ablations.autoencoders (none configured)"),
    ({"A": {"seeds": [1, 2]}, "B": {"seeds": [1, 2, 3], "init_from": "A"}},
     "production.systems.B.seeds: 3 seeds cannot pair with the 2 seeds of 'A'"),
    ({"A": {"seeds": [1], "kl": 1.0}}, "production.systems.A.kl: null (no KL term)"),
])
def test_bad_systems_fail_naming_the_key(section, message):
    with pytest.raises(SectionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_systems(section)


def test_training_section_merges_the_systems_generator_keys_and_sets_the_seed():
    generator = {"batch_size": 16, "region_weights": [1, 14, 10, 2],
                 "model": {"d_model": 64, "dropout": 0.1}}
    systems = parse_systems({"A": {"seeds": [4, 5], "generator": {"model": {"dropout": 0.3}},
                                   "train": TRAIN}})
    section = training_section(generator, systems["A"], 5)
    assert section["model"] == {"d_model": 64, "dropout": 0.3} and section["batch_size"] == 16
    assert section["train"] == {**TRAIN, "seed": 5} and section["kl"] is None
    assert generator["model"]["dropout"] == 0.1  # the shared section is left alone
    with pytest.raises(ValueError, match="seed 6 is not one of its seeds"):
        training_section(generator, systems["A"], 6)


def test_each_kind_names_its_trainer():
    assert trainer("darslp") is train_generator
    with pytest.raises(SectionError, match="unknown generator kind"):
        trainer("nope")


@pytest.fixture(scope="module")
def latents(tmp_path_factory):
    """A tiny latents file (80 channels in DARSLP's four regions) and its channel priors."""
    import numpy as np

    from pipelib.io import shards
    from pipelib.production.priors import DEFAULT_SLICES, compute_priors, save_priors

    tmp = tmp_path_factory.mktemp("systems")
    rng = np.random.default_rng(0)
    path, frames = tmp / "latents.h5", []
    slices = [[k, s.start, s.stop] for k, s in DEFAULT_SLICES.items()]
    with shards.ShardWriter(path, attrs={"latent_slices": slices}) as w:
        for i, (split, text) in enumerate([("train", "regen im norden"), ("train", "sonne im sueden"),
                                           ("train", "wind im westen"), ("dev", "regen im westen")]):
            z = rng.normal(size=(6 + i, 80)).astype(np.float32)
            frames.append(z)
            w.write(shards.VideoArrays(f"v{i}", z, np.ones(len(z), bool),
                                       attrs={"split": split, "text": text}))
    priors = tmp / "priors.h5"
    save_priors(compute_priors(np.concatenate(frames)), priors)
    return path, priors


GENERATOR = {"batch_size": 2, "region_weights": [1, 14, 10, 2],
             "text_encoder": {"kind": "learned", "d_text": 16},
             "model": {"d_model": 16, "enc_layers": 1, "enc_heads": 2, "dec_layers": 1, "dec_heads": 2,
                       "ffn_dim": 32, "dropout": 0.0, "max_len": 16}}


def test_systems_train_with_their_own_terms_seeds_and_starting_points(latents, tmp_path, one_thread):
    """DARSLP (L1), 'KL from the start' (L1 + KL, from scratch) and DARSLP-KL (L1 + KL from DARSLP)."""
    import pandas as pd

    from pipelib.production.systems import train_run
    from pipelib.training.checkpoint import read_checkpoint

    lat, priors = latents
    train = {"epochs": 2, "deterministic": True, "tracking": {"enabled": False}}
    entries = {"DARSLP": {"seeds": [2], "train": train},
               "KL-start": {"seeds": [2], "kl": {"region_weights": [1, 10, 6, 1]}, "train": train},
               "DARSLP-KL": {"init_from": "DARSLP", "seeds": [3], "kl": {"weight": 0.5}, "train": train}}
    parse_systems(entries)
    best = {name: train_run(lat, GENERATOR, name, entry, entry["seeds"][0], tmp_path / name, priors_h5=priors,
                            init_from=(tmp_path / "DARSLP/best.pt") if name == "DARSLP-KL" else None)
            for name, entry in entries.items()}
    history = {name: pd.read_csv(tmp_path / name / "history.csv") for name in entries}
    assert not any("kl" in c for c in history["DARSLP"].columns)  # no priors: no KL term
    assert any("kl" in c for c in history["KL-start"].columns)
    assert any("kl" in c for c in history["DARSLP-KL"].columns)
    meta = {name: read_checkpoint(path)["meta"] for name, path in best.items()}
    assert meta["DARSLP-KL"]["init_from"]["path"] == str((tmp_path / "DARSLP/best.pt").resolve())
    assert "init_from" not in meta["KL-start"] or not meta["KL-start"]["init_from"]
    config = {name: read_checkpoint(path)["config"]["model"]["section"] for name, path in best.items()}
    assert config["DARSLP"]["train"]["seed"] == 2 and config["DARSLP-KL"]["train"]["seed"] == 3
    assert config["DARSLP-KL"]["kl"] == {"region_weights": [1, 10, 6, 1], "weight": 0.5}


def test_the_generator_takes_its_width_from_the_latents_of_its_autoencoder(tmp_path, one_thread):
    """A system on an autoencoder variant (e.g. 96 latent channels) needs no latent_dim of its own."""
    from pipelib.production.train_generator import with_latent_dim
    from pipelib.training.checkpoint import read_checkpoint

    assert with_latent_dim(GENERATOR, 96, "l.h5", "w")["model"]["latent_dim"] == 96
    assert "latent_dim" not in GENERATOR["model"]
    with pytest.raises(ValueError, match=r"w: generator.model.latent_dim is 80 but l.h5 has 96 channels"):
        with_latent_dim({"model": {"latent_dim": 80}}, 96, "l.h5", "w")
    import numpy as np

    from pipelib.io import shards
    from pipelib.training.loading import load_model

    wide = tmp_path / "latents96.h5"  # the latent96 variant: a 32-channel face
    with shards.ShardWriter(wide, attrs={"latent_slices": [["body", 0, 8], ["right_hand", 8, 36],
                                                           ["left_hand", 36, 64], ["face", 64, 96]]}) as w:
        for i, split in enumerate(["train", "train", "dev"]):
            z = np.random.default_rng(i).normal(size=(5, 96)).astype(np.float32)
            w.write(shards.VideoArrays(f"v{i}", z, np.ones(5, bool), attrs={"split": split, "text": "a b"}))
    section = {**GENERATOR, "kl": None, "train": {"epochs": 1, "tracking": {"enabled": False}}}
    best = train_generator(wide, section, tmp_path / "run")
    assert read_checkpoint(best)["config"]["model"]["section"]["model"]["latent_dim"] == 96
    latents_out, _ = load_model(best).model.generate_latents(["a b"])
    assert latents_out.shape[-1] == 96
