# Stage manifest: one table of every usable video of a dataset, with its shard; rejects beside it.
# A checkpoint: consumers judge manifest.max_reject_fraction on the written tables (common.smk), and
# only a manifest past the limit brings in manifest_check, which fails naming it.


checkpoint manifest:
    input:
        get_manifest_input,
    output:
        manifest="results/{ds}/manifest.parquet",
        rejected="results/{ds}/rejected.parquet",
    log:
        main="logs/{ds}/manifest.log",
        rejected="logs/{ds}/manifest_rejected.csv",
    params:
        dataset=lambda wc: dataset_params(wc.ds),
        manifest=section("manifest"),
    resources:
        **rule_resources("manifest"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/manifest_build.py"


rule manifest_check:
    input:
        manifest="results/{ds}/manifest.parquet",
        rejected="results/{ds}/rejected.parquet",
    output:
        "results/{ds}/checks/manifest.ok",
    log:
        "logs/{ds}/checks/manifest.log",
    params:
        max_reject_fraction=config["manifest"]["max_reject_fraction"],
        source=config_source("manifest", "max_reject_fraction"),
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/manifest_check.py"
