from pipelib import runlog
from pipelib.signx.latents import extract_latents

runlog.setup(snakemake.log[0])
extract_latents(
    fused_shard=snakemake.input.fused,
    pose2gloss_ckpt=snakemake.input.pose2gloss,
    out_h5=snakemake.output[0],
    section=snakemake.params.latents,
)
