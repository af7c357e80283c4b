from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.signx.latents import extract_latents

    extract_latents(
        fused_shard=snakemake.input.fused,
        pose2gloss_ckpt=snakemake.input.pose2gloss,
        out_h5=snakemake.output[0],
        section=snakemake.params.latents,
    )
