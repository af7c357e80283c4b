# Stage fusion: the five slots side by side as (T, 1959) per video, normalised with train-split
# statistics, plus a report of what produced every slot.


rule fusion_stats:
    input:
        manifest="results/{ds}/manifest.parquet",
        shards=get_all_slot_shards,
        limits=get_fusion_limits,
    output:
        "results/{ds}/fused/stats.h5",
    log:
        "logs/{ds}/fusion_stats.log",
    priority: PRIORITY_LONGEST_CHAIN
    params:
        fusion=section("fusion"),
    resources:
        **rule_resources("fusion_stats"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/fusion_stats.py"


rule fusion_apply:
    input:
        unpack(get_slot_shards_of),
        stats="results/{ds}/fused/stats.h5",
        limits=get_fusion_limits,
    output:
        "results/{ds}/fused/shard{shard}.h5",
    log:
        "logs/{ds}/fused/shard{shard}.log",
    wildcard_constraints:
        shard=r"\d+",
    priority: PRIORITY_LONGEST_CHAIN
    params:
        fusion=section("fusion"),
    resources:
        **rule_resources("fusion_apply"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/fusion_apply.py"


rule fusion_report:
    input:
        manifest="results/{ds}/manifest.parquet",
        slots=get_all_slot_shards,
        fused=get_fused_shards,
        limits=get_fusion_limits,
    output:
        report(
            "results/{ds}/fused/report.csv",
            caption="../report/fusion_report.rst",
            category="Pose extraction",
        ),
    log:
        "logs/{ds}/fusion_report.log",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/fusion_report.py"
