from pathlib import Path

from pipelib import runlog
from pipelib.signx.train_pose2gloss import train_pose2gloss

runlog.setup(snakemake.log[0])
train_pose2gloss(
    manifest=snakemake.input.manifest,
    fused_shards=snakemake.input.fused,
    run_dir=Path(snakemake.output[0]).parent,
    section=snakemake.params.pose2gloss,
)
