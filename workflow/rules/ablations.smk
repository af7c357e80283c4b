# Stage ablations (DARSLP Tables 1-4): autoencoder variants (ablations.autoencoders) with their latents
# and priors, the generator systems of ablations.systems (rules of production.smk), and one table per
# entry of ablations.tables scored on ablations.split. Not in `rule all`: `snakemake ablations`.


use rule autoencoder as ablation_autoencoder with:
    output:
        "results/{ds}/production/autoencoders/{ae}/autoencoder/best.pt",
    log:
        "logs/{ds}/production/autoencoders/{ae}/autoencoder.log",
    params:
        autoencoder=lambda wc: autoencoder_variant_params(wc.ae),


use rule latents as ablation_latents with:
    input:
        skeletons="results/{ds}/production/skeletons.h5",
        autoencoder="results/{ds}/production/autoencoders/{ae}/autoencoder/best.pt",
    output:
        "results/{ds}/production/autoencoders/{ae}/latents.h5",
    log:
        "logs/{ds}/production/autoencoders/{ae}/latents.log",


use rule priors as ablation_priors with:
    input:
        "results/{ds}/production/autoencoders/{ae}/latents.h5",
    output:
        priors="results/{ds}/production/autoencoders/{ae}/priors.h5",
        figure="results/{ds}/production/autoencoders/{ae}/priors.png",
    log:
        "logs/{ds}/production/autoencoders/{ae}/priors.log",


rule ablation_table:
    input:
        unpack(get_ablation_table_inputs),
    output:
        table="results/{ds}/ablations/{ablation}.csv",
        stats="results/{ds}/ablations/{ablation}_stats.csv",
        seeds="results/{ds}/ablations/{ablation}_seeds.csv",
    log:
        "logs/{ds}/ablations/{ablation}.log",
    params:
        evaluation=evaluation_params(),
        split=config["ablations"]["split"],
        rows=lambda wc: ablation_rows(wc.ds, wc.ablation),
        dataset=lambda wc: dataset_params(wc.ds, named=True),
        back_translators=lambda wc: back_translator_sources(wc.ds),
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/ablation_table.py"


rule ablations:
    input:
        [f"results/{config['default_dataset']}/ablations/{t}.csv" for t in ABLATION_TABLES],
    localrule: True
