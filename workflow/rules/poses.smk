# Stage poses: one HDF5 shard per dataset x estimator slot x shard. Frame backends decode video;
# *_from_holistic backends read the MediaPipe shard of the same videos instead. A checkpoint:
# consumers judge extraction.max_failure_fraction on each shard's failure table (common.smk), and
# only a shard past the limit brings in poses_check, which fails naming it.


checkpoint poses_extract:
    input:
        unpack(get_poses_input),
        limits=get_poses_limits,
    output:
        "results/{ds}/poses/{slot}/shard{shard}.h5",
    log:
        "logs/{ds}/poses/{slot}/shard{shard}.log",
    wildcard_constraints:
        slot="|".join(SLOT_ORDER),
        shard=r"\d+",
    priority: PRIORITY_LONGEST_CHAIN
    params:
        estimator=lambda wc: estimator_cfg(wc.ds, wc.slot),
        extraction=section("extraction"),
    resources:
        **poses_resources(),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/poses_extract.py"


rule poses_check:
    input:
        "results/{ds}/poses/{slot}/shard{shard}.h5",
    output:
        "results/{ds}/checks/poses/{slot}/shard{shard}.ok",
    log:
        "logs/{ds}/checks/poses/{slot}/shard{shard}.log",
    params:
        max_failure_fraction=config["extraction"]["max_failure_fraction"],
        source=config_source("extraction", "max_failure_fraction"),
        reasons="logs/{ds}/poses/{slot}/shard{shard}.log",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/poses_check.py"
