# Stage production (DARSLP): skeletons -> pose autoencoder -> latents and channel priors ->
# one text->latent generator per system and seed (production.systems; DARSLP-KL starts from DARSLP)
# -> generated dev/test poses per run -> a render per system.


rule skeletons:
    input:
        manifest="results/{ds}/manifest.parquet",
        holistic=get_holistic_shards,
        limits=get_skeleton_limits,
    output:
        "results/{ds}/production/skeletons.h5",
    log:
        "logs/{ds}/production/skeletons.log",
    params:
        skeletons=lambda wc: skeleton_params(wc.ds),
    resources:
        **rule_resources("skeletons"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/production_skeletons.py"


rule autoencoder:
    input:
        "results/{ds}/production/skeletons.h5",
    output:
        "results/{ds}/production/autoencoder/best.pt",
    log:
        "logs/{ds}/production/autoencoder.log",
    params:
        autoencoder=production_section("autoencoder"),
    resources:
        **rule_resources("train"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/production_autoencoder.py"


rule latents:
    input:
        skeletons="results/{ds}/production/skeletons.h5",
        autoencoder="results/{ds}/production/autoencoder/best.pt",
    output:
        "results/{ds}/production/latents.h5",
    log:
        "logs/{ds}/production/latents.log",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/production_latents.py"


rule priors:
    input:
        "results/{ds}/production/latents.h5",
    output:
        priors="results/{ds}/production/priors.h5",
        figure=report(
            "results/{ds}/production/priors.png",
            caption="../report/priors.rst",
            category="Production",
        ),
    log:
        "logs/{ds}/production/priors.log",
    params:
        priors=production_section("priors"),
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/production_priors.py"


rule generator:
    input:
        unpack(get_generator_inputs),
    output:
        f"{SYSTEM_RUN}/generator/best.pt",
    log:
        "logs/{ds}/production/systems/{system}/seed{seed}/generator.log",
    params:
        generator=production_section("generator"),
        system=lambda wc: system_params(wc.system, wc.seed),
    resources:
        **rule_resources("train"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/production_generator.py"


rule generate:
    input:
        generator=f"{SYSTEM_RUN}/generator/best.pt",
        autoencoder=get_generate_autoencoder,
        skeletons="results/{ds}/production/skeletons.h5",
    output:
        f"{SYSTEM_RUN}/predictions.h5",
    log:
        "logs/{ds}/production/systems/{system}/seed{seed}/generate.log",
    params:
        generation=production_section("generation"),
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/production_generate.py"


rule render:
    input:
        predictions=get_render_predictions,
        skeletons="results/{ds}/production/skeletons.h5",
    output:
        report(
            "results/{ds}/production/systems/{system}/comparison.gif",
            caption="../report/comparison.rst",
            category="Production",
        ),
    log:
        "logs/{ds}/production/systems/{system}/render.log",
    params:
        generation=production_section("generation"),
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/production_render.py"
