from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.signx.augment_stage import write_augmentation

    write_augmentation(
        manifest=snakemake.input.manifest,
        latent_shard=snakemake.input.latents,
        pruning_json=snakemake.input.pruning,
        out_h5=snakemake.output[0],
        section=snakemake.params.augmentation,
    )
