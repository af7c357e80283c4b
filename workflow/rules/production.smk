# Stage production (DARSLP): skeletons -> pose autoencoder -> latents and channel priors ->
# text->latent generator, phase 1 then phase 2 (from phase 1) -> generated dev/test poses.


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


rule generator_phase1:
    input:
        latents="results/{ds}/production/latents.h5",
    output:
        "results/{ds}/production/generator_phase1/best.pt",
    log:
        "logs/{ds}/production/generator_phase1.log",
    params:
        generator=generator_params(1),
        phase=1,
    resources:
        **rule_resources("train"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/production_generator.py"


rule generator_phase2:
    input:
        latents="results/{ds}/production/latents.h5",
        priors="results/{ds}/production/priors.h5",
        phase1="results/{ds}/production/generator_phase1/best.pt",
    output:
        "results/{ds}/production/generator_phase2/best.pt",
    log:
        "logs/{ds}/production/generator_phase2.log",
    params:
        generator=generator_params(2),
        phase=2,
    resources:
        **rule_resources("train"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/production_generator.py"


rule generate:
    input:
        generator="results/{ds}/production/generator_{phase}/best.pt",
        autoencoder="results/{ds}/production/autoencoder/best.pt",
        skeletons="results/{ds}/production/skeletons.h5",
    output:
        "results/{ds}/production/predictions_{phase}.h5",
    log:
        "logs/{ds}/production/generate_{phase}.log",
    wildcard_constraints:
        phase="phase1|phase2",
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
        predictions="results/{ds}/production/predictions_{phase}.h5",
        skeletons="results/{ds}/production/skeletons.h5",
    output:
        report(
            "results/{ds}/production/comparison_{phase}.gif",
            caption="../report/comparison.rst",
            category="Production",
        ),
    log:
        "logs/{ds}/production/render_{phase}.log",
    wildcard_constraints:
        phase="phase1|phase2",
    params:
        generation=production_section("generation"),
        # the system drawn above the generated panels, as the table names it
        system=lambda wildcards: {"phase1": "DARSLP", "phase2": "DARSLP-KL"}[wildcards.phase],
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/production_render.py"
