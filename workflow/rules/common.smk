"""Helpers shared by the stage files: config sections, dataset paths, shard lists, resources."""

import os
import re
from functools import lru_cache

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.iocontainers import InputFiles, Wildcards
from snakemake.utils import update_config, validate

from pipelib import config_sections, configkeys, limits
from pipelib.audit.stage import find_sampled, rerun_dirs
from pipelib.estimators.base import SLOT_ORDER
from pipelib.estimators.registry import backends_for, is_derived, uses_gpu, weight_keys
from pipelib.evaluation.ablations import check_ablation_tables
from pipelib.production.systems import RESERVED, init_run, merged, parse_systems
from pipelib.sections import SectionError
from pipelib.signx.spread_section import SpreadSection
from pipelib.training.config import TrainConfig

# ---- config: where each value came from, --config types, validation ---------------------------

# The repository's own files, found from this file whichever Snakefile started the run (the root one or
# workflow/Snakefile, e.g. `-s workflow/Snakefile`), not from workflow.basedir, which follows that choice.
REPO_DIR = os.path.abspath(os.path.join(str(workflow.current_basedir), "..", ".."))


def repo_file(rel):
    """A file of this repository, relative when the run starts in the repository (as it always did)."""
    path = os.path.join(REPO_DIR, rel)
    return os.path.relpath(path) if os.path.abspath(os.getcwd()) == REPO_DIR else path


SCHEMA = configkeys.load_schema(repo_file("workflow/schemas/config.schema.yaml"))
DEFAULT_CONFIGFILE = "config/config.yaml"
DATASET_NAME = SCHEMA["properties"]["datasets"]["propertyNames"]["pattern"].strip("^$")


@lru_cache(maxsize=None)
def _configfile_data(path):
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def _holds(mapping, path):
    for key in path:
        if not isinstance(mapping, dict) or key not in mapping:
            return False
        mapping = mapping[key]
    return True


def config_source(*path):
    """Where the value at `path` was set: a --config override, a --configfile, config/config.yaml,
    or the schema's default."""
    if _holds(dict(workflow.config_settings.config), path):
        return "a --config override"
    files = [os.path.relpath(f) for f in workflow.config_settings.configfiles]
    if os.path.exists(DEFAULT_CONFIGFILE) and DEFAULT_CONFIGFILE not in files:
        files.insert(0, DEFAULT_CONFIGFILE)
    for path_ in reversed(files):
        if _holds(_configfile_data(path_), path):
            return path_
    return "the schema default (workflow/schemas/config.schema.yaml)"


def key_and_source(*path):
    """`dotted.key (set in <source>)`, for messages."""
    return f"{'.'.join(path)} (set in {config_source(*path)})"


def check_dataset_names():
    """Dataset names become path parts: refuse any that could leave results/ before anything runs."""
    for name in list(config.get("datasets") or {}):
        if not re.fullmatch(DATASET_NAME, str(name)):
            raise WorkflowError(
                f"Dataset name {name!r} under `datasets:` ({config_source('datasets', name)}) is not allowed: "
                f"a name becomes a folder in results/, logs/ and resources/, so use letters, digits, "
                f"'_' and '-' only, starting with a letter or digit."
            )


def check_config():
    """Validate the config against the schema; the first error names its key and where it was set."""
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(SCHEMA).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        path = [str(p) for p in errors[0].absolute_path]
        where = f"{'.'.join(path)} (set in {config_source(*path)})" if path else "the config"
        raise WorkflowError(f"{where}: {errors[0].message}; see config/README.md.")


update_config(config, configkeys.coerce_overrides(SCHEMA, dict(workflow.config_settings.config)))
check_dataset_names()
check_config()
validate(config, schema="../schemas/config.schema.yaml")  # fills in the schema's defaults


def configured_systems():
    """production.systems (the table's rows) and ablations.systems, checked as the library reads them
    (names, kinds, seeds, init_from, autoencoder), and the ablation tables' rows naming them."""
    ablations = config["ablations"]
    try:
        table = parse_systems(config["production"]["systems"], autoencoders=ablations["autoencoders"])
        extra = parse_systems(
            ablations["systems"],
            where="ablations.systems",
            before=table,
            autoencoders=ablations["autoencoders"],
        )
        check_ablation_tables(ablations["tables"], {**table, **extra})
    except SectionError as err:
        raise WorkflowError(f"{err} ({source_of_message(str(err))})") from None
    return table, {**table, **extra}


def source_of_message(message):
    """`set in <source>` for the dotted key a library config error starts with."""
    match = re.match(r"([A-Za-z_][\w]*(?:\.[\w+-]+)*)", message)
    path = match.group(1).split(".") if match else []
    while path and not _holds(config, path):
        path = path[:-1]
    return f"set in {config_source(*path)}" if path else "see config/README.md"


# TABLE_SYSTEMS: the rows of table5/table6 (production.systems); SYSTEMS: those and the ablations' own.
TABLE_SYSTEMS, SYSTEMS = configured_systems()
# `results/{ds}/export/{system}_{split}.pt`: ground truth or a system (its first seed)
EXPORT_SYSTEMS = "|".join(re.escape(name) for name in ["GT", *SYSTEMS])
AUTOENCODER_VARIANTS = list(config["ablations"]["autoencoders"])
ABLATION_TABLES = list(config["ablations"]["tables"])


# Every wildcard is constrained, so no name can climb out of results/, logs/ or resources/.
wildcard_constraints:
    ds=DATASET_NAME,
    slot="|".join(SLOT_ORDER),
    shard=r"\d+",
    system="|".join(re.escape(name) for name in SYSTEMS),
    ae="|".join(re.escape(name) for name in AUTOENCODER_VARIANTS) or "(?!)",
    ablation="|".join(re.escape(name) for name in ABLATION_TABLES) or "(?!)",
    seed=r"-?\d+",
    table="table5|table6",
    target="gloss|text",


# ---- config sections for `params:`, compared by Snakemake on the keys that can change a result ----


def tracked_section(value, *path):
    """`value`, the config entry at `path`, for `params:`: the job gets all of it, while Snakemake's
    re-run trigger sees only keys the schema does not mark `x-affects-results: false`."""
    return configkeys.tracked(SCHEMA, value, path)


def section(name):
    """A top-level config section for `params:`."""
    return tracked_section(config.get(name, {}), name)


def dataset_cfg(ds):
    """The `datasets.<ds>` config entry; unknown names fail with the list of configured ones."""
    try:
        return config["datasets"][ds]
    except KeyError:
        raise WorkflowError(
            f"Dataset '{ds}' is not configured: add it under `datasets:` in config/config.yaml or a "
            f"--configfile (configured: {', '.join(config['datasets'])})."
        ) from None


# Kinds that hold poses, not pixels: no extraction, fusion or SignX; skeletons come from the files.
POSE_ONLY_KINDS = ("slrtp_poses", "pose_files")


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
            f"Dataset '{ds}' has no data at {root}: set datasets.{ds}.root (now from "
            f"{config_source('datasets', ds, 'root')}) to the folder that holds the {d['kind']} corpus."
        )
    return root


def dataset_params(ds, named=False):
    """What of `datasets.<ds>` the manifest depends on (not estimator overrides or synthesis);
    `named` adds the dataset's name."""
    d = dataset_cfg(ds)
    keys = ("kind", "root", "shards", "fps")
    value = {k: d[k] for k in keys if k in d} | {"root": dataset_root(ds)}
    return tracked_section(value | ({"name": ds} if named else {}), "datasets", ds)


def skeleton_params(ds):
    """`skeletons` with `datasets.<ds>.skeletons` merged over it, for `params:`."""
    merged = {**config.get("skeletons", {}), **(dataset_cfg(ds).get("skeletons") or {})}
    return tracked_section(merged, "skeletons")


def synthetic_params(ds):
    return tracked_section(dataset_cfg(ds).get("synthetic", {}), "datasets", ds, "synthetic")


def shard_ids(ds):
    """Shard labels of a dataset ('000', '001', ...): the job count follows this, not the videos."""
    return [f"{i:03d}" for i in range(dataset_cfg(ds)["shards"])]


def estimator_override(ds, slot):
    return (dataset_cfg(ds).get("estimators") or {}).get(slot) or {}


def estimator_key(ds, slot, key):
    """The config path that sets `key` of a slot for dataset `ds`: the per-dataset override when it
    sets the key, else the top-level `estimators.<slot>`."""
    if key in estimator_override(ds, slot):
        return ("datasets", ds, "estimators", slot, key)
    return ("estimators", slot, key)


def estimator_cfg(ds, slot):
    """`estimators.<slot>` with `datasets.<ds>.estimators.<slot>` merged over it, for `params:`."""
    merged = dict(config["estimators"][slot])
    merged.update(estimator_override(ds, slot))
    return tracked_section(merged, "estimators", slot)


def slot_backend(ds, slot):
    return estimator_cfg(ds, slot)["backend"]


def check_backends():
    """Every dataset's backend of every slot is one the registry knows, before any job runs."""
    for ds in config["datasets"]:
        for slot in estimator_override_slots(ds):
            if slot not in SLOT_ORDER:
                raise WorkflowError(
                    f"datasets.{ds}.estimators.{slot} ({config_source('datasets', ds, 'estimators', slot)}) "
                    f"is not a slot; slots are {', '.join(SLOT_ORDER)}."
                )
        for slot in SLOT_ORDER:
            backend = slot_backend(ds, slot)
            if backend not in backends_for(slot):
                raise WorkflowError(
                    f"{key_and_source(*estimator_key(ds, slot, 'backend'))} is {backend!r}, which is not a "
                    f"backend of slot {slot}; choose one of: {', '.join(backends_for(slot))}."
                )


def estimator_override_slots(ds):
    return list(dataset_cfg(ds).get("estimators") or {})


check_backends()


def rule_resources(*names):
    """SLURM/local resources: `resources.default` overlaid by `resources.<name>` for each name in turn."""
    res = dict(config["resources"]["default"])
    for name in names:
        res.update(config["resources"].get(name, {}))
    return res


# Scheduling: among ready jobs Snakemake starts the higher priority first. Video2Pose is the longest
# training job, and extraction -> fusion -> Pose2Gloss -> Video2Pose the longest chain to `all`; started
# as soon as its inputs exist, it runs beside the other training jobs instead of alone at the end.
# Priorities only order jobs: they change no output, so they are not config.
PRIORITY_LONGEST_CHAIN = 10


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
            backend_key = estimator_key(ds, slot, "backend")
            named = ".".join(estimator_key(ds, slot, key) if cfg.get(key) else (*backend_key[:-1], key))
            where = (
                f"is not set"
                if not path
                else f"points to {path}, which does not exist (set in {config_source(*estimator_key(ds, slot, key))})"
            )
            raise WorkflowError(
                f"{named} {where}: backend {cfg['backend']} ({key_and_source(*backend_key)}) of dataset "
                f"'{ds}' needs its local weight file (see docs/estimators.md), or choose {slot}'s "
                f"*_from_holistic backend."
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


# ---- pass/fail limits (judged on recorded counts, so editing a limit re-runs no work) -----------


@lru_cache(maxsize=None)
def _counts(kind, paths, stamp):
    """Recorded (bad, total) counts; `stamp` (mtimes and sizes) keys the cache to the files' state."""
    return limits.manifest_counts(*paths) if kind == "manifest" else limits.shard_counts(paths[0])


def _stamp(paths):
    return tuple((os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in paths)


def manifest_limit_check(ds):
    """[] while the manifest of `ds` keeps within manifest.max_reject_fraction, else the output of
    its manifest_check job, which then fails naming the limit: no work starts on a manifest past it.
    Waits (checkpoint) until the manifest of this run exists."""
    out = checkpoints.manifest.get(ds=ds).output
    paths = (out.manifest, out.rejected)
    n_bad, n_total = _counts("manifest", paths, _stamp(paths))
    if limits.within(n_bad, n_total, config["manifest"]["max_reject_fraction"]):
        return []
    return [f"results/{ds}/checks/manifest.ok"]


def shard_limit_checks(ds, slots, shards):
    """The outputs of poses_check for the extraction shards (of `slots` x `shards`) whose failed share
    is past extraction.max_failure_fraction; each such check job fails naming the shard."""
    checks = []
    for slot in slots:
        for shard in shards:
            path = checkpoints.poses_extract.get(ds=ds, slot=slot, shard=shard).output[0]
            n_bad, n_total = _counts("shard", (path,), _stamp((path,)))
            if not limits.within(n_bad, n_total, config["extraction"]["max_failure_fraction"]):
                checks.append(f"results/{ds}/checks/poses/{slot}/shard{shard}.ok")
    return checks


def get_poses_limits(wildcards):
    """Limits a poses job waits on: the manifest's, and the MediaPipe shard's for a derived slot."""
    checks = manifest_limit_check(wildcards.ds)
    if is_derived(slot_backend(wildcards.ds, wildcards.slot)):
        checks += shard_limit_checks(wildcards.ds, ["mediapipe"], [wildcards.shard])
    return checks


def get_skeleton_limits(wildcards):
    checks = manifest_limit_check(wildcards.ds)
    if dataset_cfg(wildcards.ds)["kind"] != "slrtp_poses":
        checks += shard_limit_checks(wildcards.ds, ["mediapipe"], shard_ids(wildcards.ds))
    return checks


def get_fusion_limits(wildcards):
    """Every slot's extraction limit, of one shard (fusion_apply) or of all (stats, report)."""
    shards = [wildcards.shard] if hasattr(wildcards, "shard") else shard_ids(wildcards.ds)
    return shard_limit_checks(wildcards.ds, SLOT_ORDER, shards)


def dataset_outputs(ds):
    """The furthest outputs built for dataset `ds`: its table, report and (given pixels) SignX reports,
    and their pages for `snakemake --report`."""
    outputs = [f"results/{ds}/{table_name(ds)}.csv", f"results/{ds}/report.md"]
    if dataset_cfg(ds)["kind"] not in POSE_ONLY_KINDS:  # SignX needs pixels and the five estimators
        outputs += [
            f"results/{ds}/recognition.csv",
            f"results/{ds}/efficiency.csv",
            f"results/{ds}/signx/closeness.csv",
        ]
        if spread_requested():
            outputs.append(f"results/{ds}/signx/spread.csv")
    return outputs + report_pages(ds)


def report_pages(ds):
    """One page of each report rule that applies to `ds` (each rule writes all its pages at once)."""
    pages = [f"results/{ds}/report/{table_name(ds)}.html", f"results/{ds}/report/summary.html"]
    pages += [f"results/{ds}/report/comparison_{name}.html" for name in TABLE_SYSTEMS]
    if dataset_cfg(ds)["kind"] not in POSE_ONLY_KINDS:
        pages.append(f"results/{ds}/report/fusion_report.html")
        if spread_requested():
            pages.append(f"results/{ds}/report/spread.html")
    return pages


def get_final_output():
    """The default target: everything built for `default_dataset`."""
    return dataset_outputs(config["default_dataset"])


# ---- production ------------------------------------------------------------------------------


def check_sections():
    """Parse every config section with the library's own dataclass at start-up, one check per stage
    (pipelib.config_sections), so a bad section fails before any job runs, naming where it was set."""
    for stage in config_sections.STAGES:
        try:
            config_sections.check_stage(config, stage)
        except (ValueError, TypeError, FileNotFoundError) as err:
            raise WorkflowError(f"{err} ({source_of_message(str(err))})") from None


check_sections()


def production_section(name):
    return tracked_section(config["production"][name], "production", name)


def system_section(name):
    """The config section a system is listed in: ("production", "systems") or ("ablations", "systems")."""
    return ("production", "systems") if name in TABLE_SYSTEMS else ("ablations", "systems")


def system_params(name, seed):
    """A system's own entry with only this run's seed: editing the entry re-runs the system (and those
    initialised from it); adding or removing a seed re-runs no other run."""
    section = system_section(name)
    entry = {**config[section[0]][section[1]][name], "seeds": [int(seed)]}
    return tracked_section(entry, *section, name)


def system_run(ds, name, seed):
    """The folder of one training run of a system: generator/ (the run) and predictions.h5."""
    return f"results/{ds}/production/systems/{name}/seed{seed}"


SYSTEM_RUN = system_run("{ds}", "{system}", "{seed}")


def run_predictions(ds, name):
    """{seed: predictions.h5 of that run} of system `name`."""
    return {seed: f"{system_run(ds, name, seed)}/predictions.h5" for seed in SYSTEMS[name].seeds}


def system_predictions(ds):
    """{system: {seed: its run's predictions.h5}} of the table's systems, in table order."""
    return {name: run_predictions(ds, name) for name in TABLE_SYSTEMS}


def autoencoder_dir(ds, variant):
    """Where an autoencoder, its latents and priors live: production/ (production.autoencoder) or
    production/autoencoders/<variant>/ (ablations.autoencoders)."""
    base = f"results/{ds}/production"
    return base if variant is None else f"{base}/autoencoders/{variant}"


def autoencoder_variant_params(variant):
    """production.autoencoder with the variant's keys set otherwise (ablations.autoencoders)."""
    section = merged(config["production"]["autoencoder"], config["ablations"]["autoencoders"][variant])
    return tracked_section(section, "production", "autoencoder")


def get_generate_autoencoder(wildcards):
    return f"{autoencoder_dir(wildcards.ds, SYSTEMS[wildcards.system].autoencoder)}/autoencoder/best.pt"


def get_generator_inputs(wildcards):
    """Latents; the channel priors for a system with a KL term; the run it initialises from."""
    name, seed = wildcards.system, int(wildcards.seed)
    if seed not in SYSTEMS[name].seeds:
        raise WorkflowError(
            f"{'.'.join(system_section(name))}.{name} has no seed {seed} "
            f"(its seeds: {list(SYSTEMS[name].seeds)})."
        )
    base = autoencoder_dir(wildcards.ds, SYSTEMS[name].autoencoder)
    inputs = {"latents": f"{base}/latents.h5"}
    if SYSTEMS[name].kl is not None:
        inputs["priors"] = f"{base}/priors.h5"
    parent = init_run(SYSTEMS, name, seed)
    if parent is not None:
        inputs["init_from"] = f"{system_run(wildcards.ds, *parent)}/generator/best.pt"
    return inputs


def first_run_predictions(ds, name):
    """The predictions of a system's first seed: what its render shows and its export holds."""
    return f"{system_run(ds, name, SYSTEMS[name].seeds[0])}/predictions.h5"


def get_render_predictions(wildcards):
    return first_run_predictions(wildcards.ds, wildcards.system)


def get_holistic_shards(wildcards):
    if dataset_cfg(wildcards.ds)["kind"] in POSE_ONLY_KINDS:
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
    return tracked_section(bt, "evaluation", "back_translation")


def evaluation_params():
    ev = dict(config["evaluation"])
    ev.pop("back_translation")
    return tracked_section(ev, "evaluation")


def statistics_params():
    """`evaluation.statistics` (bootstrap resamples, seed, confidence, min_sentences), also for recognition.csv."""
    return tracked_section(config["evaluation"].get("statistics", {}), "evaluation", "statistics")


def trained_back_translator(ds):
    """A user-provided back-translator checkpoint, or the one this pipeline trains."""
    user = config["evaluation"]["back_translation"]["checkpoint"]
    if user:
        if not os.path.isfile(user):
            raise WorkflowError(
                f"{key_and_source('evaluation', 'back_translation', 'checkpoint')} points to {user}, "
                "which does not exist: "
                "give a checkpoint written by this pipeline's back_translator rule, or null to train one."
            )
        return user
    return f"results/{ds}/evaluation/back_translator/best.pt"


def slrtp_model_dir():
    """The SLRTP back-translator directory; unset or incomplete fails at DAG time naming the key."""
    from pipelib.evaluation.slrtp_model import find_model_files

    key = "evaluation.slrtp_back_translator.model_dir"
    d = config["evaluation"]["slrtp_back_translator"]["model_dir"]
    if not d:
        raise WorkflowError(
            f"evaluation.back_translators lists slrtp but {key} is not set: point it at the folder holding "
            "the SLRTP back-translator's config.yaml, best.ckpt, gls.vocab and txt.vocab (docs/table5.md)."
        )
    d = os.path.expandvars(os.path.expanduser(d))
    try:
        files = find_model_files(d)
    except (FileNotFoundError, ValueError) as err:
        raise WorkflowError(f"{key}: {err}") from None
    return d, [str(p) for p in files.inputs()]


def back_translator_sources(ds):
    """kind -> what each configured back-translator is loaded from (checkpoint or directory)."""
    kinds = config["evaluation"]["back_translators"]
    out = {}
    if "trained" in kinds:
        out["trained"] = trained_back_translator(ds)
    if "slrtp" in kinds:
        out["slrtp"] = slrtp_model_dir()[0]
    return out


def external_predictions(ds):
    """`datasets.<ds>.predictions`, key-sorted, paths expanded; each needs the scored split's file."""
    split = config["evaluation"]["split"]
    out = {}
    for name, entry in dataset_cfg(ds).get("predictions", {}).items():
        if name in RESERVED or name in TABLE_SYSTEMS:
            raise WorkflowError(
                f"datasets.{ds}.predictions.{name}: the name is taken by the table's own "
                "rows (GT, mean-pose, production.systems); rename it"
            )
        path = os.path.expandvars(os.path.expanduser(str(entry.get(split) or "")))
        if not path or not os.path.isfile(path):
            where = (
                f"has no `{split}` file" if not path else f"`{split}` points to {path}, which does not exist"
            )
            raise WorkflowError(
                f"datasets.{ds}.predictions.{name} {where}: table5 scores split {split} "
                "(evaluation.split); give that split's prediction file."
            )
        out[name] = {**entry, split: path}
    return tracked_section(out, "datasets", ds, "predictions")


def get_table_inputs(wildcards):
    """Ground truth, our predictions, external predictions, every back-translator's files."""
    ds = wildcards.ds
    split = config["evaluation"]["split"]
    inputs = {
        "skeletons": f"results/{ds}/production/skeletons.h5",
        "systems": [p for runs in system_predictions(ds).values() for p in runs.values()],
        "external": [e[split] for e in external_predictions(ds).values()],
        "reported": reported_scores(),
    }
    return inputs | back_translator_inputs(ds)


def back_translator_inputs(ds):
    """The files of the configured back-translators: a table job's inputs."""
    sources = back_translator_sources(ds)
    inputs = {}
    if "trained" in sources:
        inputs["trained_back_translator"] = sources["trained"]
    if "slrtp" in sources:
        inputs["slrtp_back_translator"] = slrtp_model_dir()[1]
    return inputs


def ablation_rows(ds, table):
    """{row label: {seed: predictions.h5}} of an ablation table, in its order."""
    return {label: run_predictions(ds, name) for label, name in config["ablations"]["tables"][table].items()}


def get_ablation_table_inputs(wildcards):
    """Ground truth, every row's predictions, the back-translators and the paper's ablation scores."""
    rows = ablation_rows(wildcards.ds, wildcards.ablation)
    inputs = {
        "skeletons": f"results/{wildcards.ds}/production/skeletons.h5",
        "runs": [p for runs in rows.values() for p in runs.values()],
        "reported": repo_file("config/reference/darslp_ablations.csv"),
    }
    return inputs | back_translator_inputs(wildcards.ds)


def get_export_input(wildcards):
    """What `results/{ds}/export/{system}_{split}.pt` is written from."""
    if wildcards.system == "GT":
        return f"results/{wildcards.ds}/production/skeletons.h5"
    return first_run_predictions(wildcards.ds, wildcards.system)


def get_report_inputs(wildcards):
    """The table, priors and renders; the fusion report only for datasets with video (pose-only
    datasets such as slrtp_poses extract no features)."""
    ds = wildcards.ds
    inputs = {
        "table": f"results/{ds}/{table_name(ds)}.csv",
        "stats": f"results/{ds}/{table_name(ds)}_stats.csv",
        "priors": f"results/{ds}/production/priors.h5",
        "renders": [f"results/{ds}/production/systems/{name}/comparison.gif" for name in TABLE_SYSTEMS],
    }
    if config["audit"]["in_report"]:
        inputs["audit"] = f"results/{ds}/audit.csv"
    if dataset_cfg(ds)["kind"] not in POSE_ONLY_KINDS:
        inputs["fusion"] = f"results/{ds}/fused/report.csv"
    return inputs


def reported_scores():
    """The versioned file of the paper's reported scores, shipped with the workflow."""
    return repo_file("config/reference/darslp_reported.csv")


# ---- SignX -----------------------------------------------------------------------------------


def signx_section(name):
    return tracked_section(config["signx"][name], "signx", name)


def recognizer_params():
    """The recognizers' training section; `targets` only chooses which recognizers exist."""
    rec = dict(config["signx"]["recognizer"])
    rec.pop("targets")
    return tracked_section(rec, "signx", "recognizer")


def efficiency_threads():
    """The cores the efficiency measurement runs on (`signx.efficiency.threads`; null: 1). Its job claims
    them, as `threads` locally and `cpus_per_task` on SLURM: a job sharing those cores would be timed too
    (beside another job on 2 cores the demo measured under a quarter of its rates on cores of its own)."""
    return config["signx"]["efficiency"]["threads"] or 1


def efficiency_resources():
    """`resources.signx_efficiency`, with `cpus_per_task` at least :func:`efficiency_threads`."""
    res = rule_resources("signx_efficiency")
    res["cpus_per_task"] = max(res.get("cpus_per_task", 1), efficiency_threads())
    return res


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


def video2pose_seed_params(wildcards):
    """`signx.video2pose` with this run's seed: editing the section re-runs every seed's run; adding a
    seed to `signx.spread.seeds` re-runs none of the others."""
    section = config["signx"]["video2pose"]
    entry = {**section, "train": {**section.get("train", {}), "seed": int(wildcards.seed)}}
    return tracked_section(entry, "signx", "video2pose")


def spread_seeds():
    """The Video2Pose seeds of `signx.spread`: the primary run's (`signx.video2pose.train.seed`) first."""
    train = TrainConfig.from_dict(config["signx"]["video2pose"].get("train"), "signx.video2pose.train")
    return list(SpreadSection.from_dict(config["signx"].get("spread")).all_seeds(train.seed))


def spread_requested():
    """Whether `signx.spread.seeds` names Video2Pose seeds beside the primary run's."""
    return len(spread_seeds()) > 1


def get_spread_video2pose(wildcards):
    """The Video2Pose checkpoint of each spread seed, in `spread_seeds()` order."""
    _primary, *others = spread_seeds()
    ds = wildcards.ds
    return [f"results/{ds}/signx/video2pose/best.pt"] + [
        f"results/{ds}/signx/video2pose_seeds/seed{s}/best.pt" for s in others
    ]


def get_signx_eval_inputs(wildcards):
    ds = wildcards.ds
    inputs = {k: v for k, v in get_signx_latent_inputs(wildcards).items() if k != "aug"}
    for target in config["signx"]["recognizer"]["targets"]:
        inputs[f"recognizer_{target}"] = f"results/{ds}/signx/recognizer_{target}/averaged.pt"
    return inputs


# ---- audit -----------------------------------------------------------------------------------

AUDIT_SAMPLE = "results/{ds}/audit/sample.json"
AUDIT_RESOURCE_KEYS = (
    "cpus_per_task",
    "mem_mb",
    "runtime",
    "gpu",
    "gpu_model",
    "slurm_partition",
    "slurm_account",
    "constraint",
    "slurm_extra",
)


def audit_targets(wildcards):
    """The outputs whose recorded jobs are sampled: `audit.targets`, else all of the dataset's."""
    ds, cfg = wildcards.ds, config["audit"]
    targets = [f"results/{ds}/{t}" for t in cfg["targets"]] or dataset_outputs(ds)
    report_md = f"results/{ds}/report.md"
    if cfg["in_report"]:
        if cfg["targets"] and report_md in targets:
            raise WorkflowError(
                "audit.targets lists report.md, which shows the audit (audit.in_report: "
                "true): drop one of the two."
            )
        targets = [t for t in targets if t != report_md]
    return targets


def audit_sample_section():
    """What the draw depends on (the comparison's keys do not re-draw)."""
    return {k: config["audit"][k] for k in ("per_rule", "rules", "seed", "targets")}


def audit_compare_section():
    return tracked_section({k: v for k, v in config["audit"].items() if k != "in_report"}, "audit")


def audit_sample_json(wildcards):
    """The drawn jobs of dataset `ds` (after the audit_sample checkpoint has run)."""
    return checkpoints.audit_sample.get(ds=wildcards.ds).output[0]


def get_audit_reruns(wildcards):
    return rerun_dirs(audit_sample_json(wildcards))


def audited_job(wildcards):
    """The recorded job that `audit_rerun` repeats, as the sample holds it.

    Re-executions enter the DAG only through `audit`'s input, after the checkpoint, so the file is
    current; it is read directly because a SLURM job's own Snakemake does not run the checkpoint.
    """
    path = AUDIT_SAMPLE.format(ds=wildcards.ds)
    if not os.path.exists(path):
        path = audit_sample_json(wildcards)
    return find_sampled(path, wildcards.audited_rule, wildcards.job)


def audited_resources(wildcards):
    """The resources of the rule the drawn job belongs to, evaluated for that job's wildcards.

    Read from the Rule object, so each resource choice is written once, in that rule's own resources
    (`Rule.get_wildcards` and `expand_resources` are Snakemake internals; snakemake is pinned).
    """
    job = audited_job(wildcards).job
    repeated = workflow.get_rule(job.rule)
    original = Wildcards(fromdict=repeated.get_wildcards(job.outputs[0]))
    return dict(repeated.expand_resources(original, InputFiles(), attempt=1).items())


def audit_rerun_resources():
    def pick(key):
        return lambda wc: audited_resources(wc).get(key)

    return {key: pick(key) for key in AUDIT_RESOURCE_KEYS}


def audit_scratch(path):
    """Re-execution folders are removed once the comparison succeeds, unless audit.keep_scratch."""
    return path if config["audit"]["keep_scratch"] else temp(path)
