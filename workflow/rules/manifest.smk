# Stage manifest: one table of every usable video of a dataset, with its shard; rejects beside it.


rule manifest:
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
