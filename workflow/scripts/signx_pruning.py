from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.signx.pruning_stage import fit_pruning_mask

    fit_pruning_mask(
        manifest=snakemake.input.manifest,
        latent_shards=snakemake.input.latents,
        out_json=snakemake.output[0],
        section=snakemake.params.pruning,
    )
