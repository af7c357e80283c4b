# Stage SignX: fused features -> Pose2Gloss (fusion latent space) -> per-frame latents -> pruning
# -> 10x latent augmentation shards -> latent-space recognizers (gloss, text) -> recognition.csv;
# Video2Pose (latents from pixels alone) -> closeness.csv and efficiency.csv.


rule signx_pose2gloss:
    input:
        manifest="results/{ds}/manifest.parquet",
        fused=get_fused_shards,
    output:
        "results/{ds}/signx/pose2gloss/best.pt",
    log:
        "logs/{ds}/signx/pose2gloss.log",
    priority: PRIORITY_LONGEST_CHAIN
    params:
        pose2gloss=signx_section("pose2gloss"),
    resources:
        **rule_resources("train"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/signx_pose2gloss.py"


rule signx_latents:
    input:
        fused="results/{ds}/fused/shard{shard}.h5",
        pose2gloss="results/{ds}/signx/pose2gloss/best.pt",
    output:
        "results/{ds}/signx/latents/shard{shard}.h5",
    log:
        "logs/{ds}/signx/latents/shard{shard}.log",
    wildcard_constraints:
        shard=r"\d+",
    params:
        latents=signx_section("latents"),
    resources:
        **rule_resources("signx_latents"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/signx_latents.py"


rule signx_pruning:
    input:
        manifest="results/{ds}/manifest.parquet",
        latents=get_signx_latent_shards,
    output:
        "results/{ds}/signx/pruning.json",
    log:
        "logs/{ds}/signx/pruning.log",
    params:
        pruning=signx_section("pruning"),
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/signx_pruning.py"


rule signx_augment:
    input:
        manifest="results/{ds}/manifest.parquet",
        latents="results/{ds}/signx/latents/shard{shard}.h5",
        pruning="results/{ds}/signx/pruning.json",
    output:
        "results/{ds}/signx/aug/shard{shard}.h5",
    log:
        "logs/{ds}/signx/aug/shard{shard}.log",
    wildcard_constraints:
        shard=r"\d+",
    params:
        augmentation=signx_section("augmentation"),
    resources:
        **rule_resources("signx_augment"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/signx_augment.py"


rule signx_recognizer:
    input:
        unpack(get_signx_latent_inputs),
    output:
        "results/{ds}/signx/recognizer_{target}/averaged.pt",
    log:
        "logs/{ds}/signx/recognizer_{target}.log",
    wildcard_constraints:
        target="gloss|text",
    params:
        recognizer=recognizer_params(),
    resources:
        **rule_resources("train"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/signx_recognizer.py"


rule signx_recognition:
    input:
        unpack(get_signx_eval_inputs),
        frames=get_manifest_input,
        pose2gloss="results/{ds}/signx/pose2gloss/best.pt",
        video2pose="results/{ds}/signx/video2pose/best.pt",
    output:
        report(
            "results/{ds}/recognition.csv",
            caption="../report/recognition.rst",
            category="SignX",
        ),
    log:
        "logs/{ds}/signx/recognition.log",
    params:
        recognition=signx_section("recognition"),
        statistics=statistics_params(),
        targets=config["signx"]["recognizer"]["targets"],
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/signx_recognition.py"


rule signx_video2pose:
    input:
        frames=get_manifest_input,
        manifest="results/{ds}/manifest.parquet",
        fused=get_fused_shards,
        pose2gloss="results/{ds}/signx/pose2gloss/best.pt",
    output:
        "results/{ds}/signx/video2pose/best.pt",
    log:
        "logs/{ds}/signx/video2pose.log",
    priority: PRIORITY_LONGEST_CHAIN
    params:
        video2pose=signx_section("video2pose"),
    resources:
        **rule_resources("train", "video2pose"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/signx_video2pose.py"


rule signx_closeness:
    input:
        frames=get_manifest_input,
        manifest="results/{ds}/manifest.parquet",
        fused=get_fused_shards,
        pose2gloss="results/{ds}/signx/pose2gloss/best.pt",
        video2pose="results/{ds}/signx/video2pose/best.pt",
    output:
        report(
            "results/{ds}/signx/closeness.csv",
            caption="../report/closeness.rst",
            category="SignX",
        ),
    log:
        "logs/{ds}/signx/closeness.log",
    params:
        closeness=signx_section("closeness"),
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/signx_closeness.py"


rule signx_efficiency:
    input:
        unpack(get_signx_eval_inputs),
        frames=get_manifest_input,
        pose2gloss="results/{ds}/signx/pose2gloss/best.pt",
        video2pose="results/{ds}/signx/video2pose/best.pt",
    output:
        report(
            "results/{ds}/efficiency.csv",
            caption="../report/efficiency.rst",
            category="SignX",
        ),
    log:
        "logs/{ds}/signx/efficiency.log",
    params:
        efficiency=signx_section("efficiency"),
        targets=config["signx"]["recognizer"]["targets"],
    threads: efficiency_threads()
    resources:
        **efficiency_resources(),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/signx_efficiency.py"


# signx.spread: Video2Pose from other seeds, and how far recognition from pixels moves with the seed
rule signx_video2pose_seed:
    input:
        frames=get_manifest_input,
        manifest="results/{ds}/manifest.parquet",
        fused=get_fused_shards,
        pose2gloss="results/{ds}/signx/pose2gloss/best.pt",
    output:
        "results/{ds}/signx/video2pose_seeds/seed{seed}/best.pt",
    log:
        "logs/{ds}/signx/video2pose_seeds/seed{seed}.log",
    params:
        video2pose=video2pose_seed_params,
    resources:
        **rule_resources("train", "video2pose"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/signx_video2pose.py"


rule signx_spread:
    input:
        unpack(get_signx_eval_inputs),
        frames=get_manifest_input,
        fused=get_fused_shards,
        pose2gloss="results/{ds}/signx/pose2gloss/best.pt",
        video2pose=get_spread_video2pose,
    output:
        report(
            "results/{ds}/signx/spread.csv",
            caption="../report/spread.rst",
            category="SignX",
        ),
    log:
        "logs/{ds}/signx/spread.log",
    params:
        seeds=spread_seeds(),
        recognition=signx_section("recognition"),
        closeness=signx_section("closeness"),
        statistics=statistics_params(),
        targets=config["signx"]["recognizer"]["targets"],
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/signx_spread.py"
