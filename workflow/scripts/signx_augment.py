from pipelib import runlog
from pipelib.signx.augment_stage import write_augmentation

runlog.setup(snakemake.log[0])
write_augmentation(
    manifest=snakemake.input.manifest,
    latent_shard=snakemake.input.latents,
    pruning_json=snakemake.input.pruning,
    out_h5=snakemake.output[0],
    section=snakemake.params.augmentation,
)
