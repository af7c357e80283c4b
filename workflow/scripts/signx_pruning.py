from pipelib import runlog
from pipelib.signx.pruning_stage import fit_pruning_mask

runlog.setup(snakemake.log[0])
fit_pruning_mask(
    manifest=snakemake.input.manifest,
    latent_shards=snakemake.input.latents,
    out_json=snakemake.output[0],
    section=snakemake.params.pruning,
)
