"""Helpers shared by the stage files: config sections, dataset paths, shard lists, resources."""

import copy
import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from pipelib.estimators.base import SLOT_ORDER
from pipelib.estimators.registry import is_derived, uses_gpu, weight_keys


validate(config, schema="../schemas/config.schema.yaml")


def sorted_section(value):
    """Deep copy with every mapping key-sorted, so params compare equal across runs."""
    if isinstance(value, dict):
        return {k: sorted_section(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sorted_section(v) for v in value]
    return copy.deepcopy(value)


def section(name):
    """A top-level config section, key-sorted, for `params:`."""
    return sorted_section(config.get(name, {}))


def dataset_cfg(ds):
    """The `datasets.<ds>` config entry; unknown names fail with the list of configured ones."""
    try:
        return config["datasets"][ds]
    except KeyError:
        raise WorkflowError(
            f"Dataset '{ds}' is not configured: add it under `datasets:` in config/config.yaml "
            f"(configured: {', '.join(config['datasets'])})."
        ) from None


def synthetic_datasets():
    return [ds for ds, d in config["datasets"].items() if d["kind"] == "synthetic"]


def dataset_root(ds):
    """Where a dataset's files sit; synthetic corpora are generated under resources/<ds>/synthetic."""
    d = dataset_cfg(ds)
    if d["kind"] == "synthetic":
        return f"resources/{ds}/synthetic"
    root = os.path.expandvars(os.path.expanduser(d["root"]))
    if not os.path.exists(root):
        raise WorkflowError(
            f"Dataset '{ds}' has no data at {root}: set datasets.{ds}.root in config/config.yaml "
            f"to the folder that holds the {d['kind']} corpus."
        )
    return root


def dataset_params(ds):
    """What of `datasets.<ds>` the manifest depends on (not estimator overrides or synthesis)."""
    d = dataset_cfg(ds)
    keys = ("kind", "root", "shards", "fps")
    return sorted_section({k: d[k] for k in keys if k in d} | {"root": dataset_root(ds)})


def skeleton_params(ds):
    """`skeletons` with `datasets.<ds>.skeletons` merged over it, key-sorted."""
    return sorted_section({**config.get("skeletons", {}), **dataset_cfg(ds).get("skeletons", {})})


def synthetic_params(ds):
    return sorted_section(dataset_cfg(ds).get("synthetic", {}))


def shard_ids(ds):
    """Shard labels of a dataset ('000', '001', ...): the job count follows this, not the videos."""
    return [f"{i:03d}" for i in range(dataset_cfg(ds)["shards"])]


def estimator_cfg(ds, slot):
    """`estimators.<slot>` with `datasets.<ds>.estimators.<slot>` merged over it, key-sorted."""
    merged = dict(config["estimators"][slot])
    merged.update(dataset_cfg(ds).get("estimators", {}).get(slot, {}))
    return sorted_section(merged)


def slot_backend(ds, slot):
    return estimator_cfg(ds, slot)["backend"]


def rule_resources(name):
    """SLURM/local resources: `resources.default` overlaid by `resources.<name>`."""
    res = dict(config["resources"]["default"])
    res.update(config["resources"].get(name, {}))
    return res


def poses_resource_name(wildcards):
    backend = slot_backend(wildcards.ds, wildcards.slot)
    if is_derived(backend):
        return "poses_derive"
    return "poses_extract_gpu" if uses_gpu(backend) else "poses_extract"


def poses_resources():
    """Extraction resources, chosen per slot among derived, CPU (MediaPipe) and GPU backends."""
    keys = set()
    for name in ("poses_extract", "poses_extract_gpu", "poses_derive"):
        keys |= set(rule_resources(name))

    def pick(key):
        return lambda wc: rule_resources(poses_resource_name(wc)).get(key, 0)

    return {key: pick(key) for key in sorted(keys)}


# ---- paths ---------------------------------------------------------------------------------

def manifest_path(ds):
    return f"results/{ds}/manifest.parquet"


def poses_shard(ds, slot, shard):
    return f"results/{ds}/poses/{slot}/shard{shard}.h5"


def get_manifest_input(wildcards):
    root = dataset_root(wildcards.ds)
    return [root] if dataset_cfg(wildcards.ds)["kind"] == "synthetic" else []


def weight_inputs(ds, slot):
    """The local weight files of a slot's backend; a missing one fails at DAG time naming its key."""
    cfg = estimator_cfg(ds, slot)
    files = {}
    for key in weight_keys(cfg["backend"], cfg):
        path = os.path.expandvars(os.path.expanduser(str(cfg.get(key) or "")))
        if not path or not os.path.isfile(path):
            where = "is not set" if not path else f"points to {path}, which does not exist"
            raise WorkflowError(
                f"estimators.{slot}.{key} {where}: backend {cfg['backend']} of dataset '{ds}' needs its "
                f"local weight file (see docs/estimators.md), or choose {slot}'s *_from_holistic backend."
            )
        files[f"weights_{key}"] = path
    return files


def get_poses_input(wildcards):
    inputs = {"manifest": manifest_path(wildcards.ds)}
    if is_derived(slot_backend(wildcards.ds, wildcards.slot)):
        inputs["holistic"] = poses_shard(wildcards.ds, "mediapipe", wildcards.shard)
    inputs.update(weight_inputs(wildcards.ds, wildcards.slot))
    return inputs


def get_all_slot_shards(wildcards):
    return [poses_shard(wildcards.ds, s, k) for s in SLOT_ORDER for k in shard_ids(wildcards.ds)]


def get_slot_shards_of(wildcards):
    return {s: poses_shard(wildcards.ds, s, wildcards.shard) for s in SLOT_ORDER}


def get_fused_shards(wildcards):
    return [f"results/{wildcards.ds}/fused/shard{k}.h5" for k in shard_ids(wildcards.ds)]


def dataset_outputs(ds):
    """The furthest outputs built for dataset `ds`: its table, report and (given pixels) SignX reports."""
    outputs = [f"results/{ds}/{table_name(ds)}.csv", f"results/{ds}/report.md"]
    if dataset_cfg(ds)["kind"] != "slrtp_poses":  # SignX needs pixels and the five estimators
        outputs += [f"results/{ds}/recognition.csv", f"results/{ds}/efficiency.csv",
                    f"results/{ds}/signx/closeness.csv"]
    return outputs


def get_final_output():
    """The default target: everything built for `default_dataset`."""
    return dataset_outputs(config["default_dataset"])


# ---- production ------------------------------------------------------------------------------

def check_model_sections():
    """Check the model and training sections with the library's own config classes at start-up."""
    from pipelib.production.autoencoder import AEConfig
    from pipelib.production.generator import GeneratorConfig
    from pipelib.text.encoders import TextEncoderConfig
    from pipelib.training import TrainConfig

    prod = config["production"]
    try:
        AEConfig.from_dict(prod["autoencoder"]["model"], "production.autoencoder.model")
        TrainConfig.from_dict(prod["autoencoder"]["train"], "production.autoencoder.train")
        gen = prod["generator"]
        TextEncoderConfig.from_dict(gen["text_encoder"], "production.generator.text_encoder")
        GeneratorConfig.from_dict(gen["model"], "production.generator.model")
        for phase in ("phase1", "phase2"):
            TrainConfig.from_dict(gen[phase]["train"], f"production.generator.{phase}.train")
        TrainConfig.from_dict(config["evaluation"]["back_translation"]["train"],
                              "evaluation.back_translation.train")
        check_signx_sections(TrainConfig)
    except (ValueError, TypeError, FileNotFoundError) as err:
        raise WorkflowError(f"config/config.yaml: {err}") from None


def check_signx_sections(train_config):
    """SignX model sections (vocabulary sizes are filled in from the data) and train sections."""
    from pipelib.signx.pose2gloss import Pose2GlossConfig
    from pipelib.signx.recognizer import RecognizerConfig
    from pipelib.signx.train_recognizer import train_config as recognizer_train_config
    from pipelib.signx.video2pose import Video2PoseConfig

    sx = config["signx"]
    Pose2GlossConfig.from_dict({"vocab_size": 5} | sx["pose2gloss"]["model"], "signx.pose2gloss.model")
    Video2PoseConfig.from_dict(sx["video2pose"]["model"], "signx.video2pose.model")
    rec = RecognizerConfig.from_dict({"gloss_vocab_size": 5, "text_vocab_size": 5} | sx["recognizer"]["model"],
                                     "signx.recognizer.model")
    for target in sx["recognizer"]["targets"]:
        recognizer_train_config(sx["recognizer"], target, rec.d_model)
    for name in ("pose2gloss", "video2pose"):
        train_config.from_dict(sx[name]["train"], f"signx.{name}.train")


check_model_sections()


def production_section(name):
    return sorted_section(config["production"][name])


def generator_params(phase):
    """Phase 1 sees the generator section without `phase2`; phase 2 sees all of it."""
    gen = dict(config["production"]["generator"])
    if phase == 1:
        gen.pop("phase2")
    return sorted_section(gen)


def get_holistic_shards(wildcards):
    if dataset_cfg(wildcards.ds)["kind"] == "slrtp_poses":
        return []
    return [poses_shard(wildcards.ds, "mediapipe", k) for k in shard_ids(wildcards.ds)]


# ---- evaluation ------------------------------------------------------------------------------

def table_name(ds):
    """table6 for CSL-Daily (as in the paper), table5 for every other corpus."""
    return "table6" if dataset_cfg(ds)["kind"] == "csl_daily" else "table5"


def back_translation_params():
    """The back-translator's training section (the user checkpoint key does not retrain it)."""
    bt = dict(config["evaluation"]["back_translation"])
    bt.pop("checkpoint")
    return sorted_section(bt)


def evaluation_params():
    ev = dict(config["evaluation"])
    ev.pop("back_translation")
    return sorted_section(ev)


def get_back_translator(wildcards):
    """A user-provided back-translator checkpoint, or the one this pipeline trains."""
    user = config["evaluation"]["back_translation"]["checkpoint"]
    if user:
        if not os.path.isfile(user):
            raise WorkflowError(
                f"evaluation.back_translation.checkpoint points to {user}, which does not exist: "
                "give a checkpoint written by this pipeline's back_translator rule, or null to train one."
            )
        return user
    return f"results/{wildcards.ds}/evaluation/back_translator/best.pt"


def get_report_inputs(wildcards):
    ds = wildcards.ds
    return {
        "table": f"results/{ds}/{table_name(ds)}.csv",
        "fusion": f"results/{ds}/fused/report.csv",
        "priors": f"results/{ds}/production/priors.h5",
        "renders": [f"results/{ds}/production/comparison_{p}.gif" for p in ("phase1", "phase2")],
    }


def reported_scores():
    """The versioned file of the paper's reported scores, shipped with the workflow."""
    return os.path.join(workflow.basedir, "config/reference/darslp_reported.csv")


# ---- SignX -----------------------------------------------------------------------------------

def signx_section(name):
    return sorted_section(config["signx"][name])


def recognizer_params():
    """The recognizers' training section; `targets` only chooses which recognizers exist."""
    rec = dict(config["signx"]["recognizer"])
    rec.pop("targets")
    return sorted_section(rec)


def get_signx_latent_shards(wildcards):
    return [f"results/{wildcards.ds}/signx/latents/shard{k}.h5" for k in shard_ids(wildcards.ds)]


def get_signx_latent_inputs(wildcards):
    """What a latent-space recognizer reads: train videos from the augmentation shards, dev/test
    videos from the latent shards with the pruning mask."""
    ds = wildcards.ds
    return {
        "manifest": manifest_path(ds),
        "aug": [f"results/{ds}/signx/aug/shard{k}.h5" for k in shard_ids(ds)],
        "latents": get_signx_latent_shards(wildcards),
        "pruning": f"results/{ds}/signx/pruning.json",
    }


def get_signx_eval_inputs(wildcards):
    ds = wildcards.ds
    inputs = {k: v for k, v in get_signx_latent_inputs(wildcards).items() if k != "aug"}
    for target in config["signx"]["recognizer"]["targets"]:
        inputs[f"recognizer_{target}"] = f"results/{ds}/signx/recognizer_{target}/averaged.pt"
    return inputs

