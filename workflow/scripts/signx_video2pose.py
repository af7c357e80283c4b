from pathlib import Path

from pipelib import runlog
from pipelib.signx.train_video2pose import train_video2pose

runlog.setup(snakemake.log[0])
train_video2pose(
    manifest=snakemake.input.manifest,
    fused_shards=snakemake.input.fused,
    pose2gloss_ckpt=snakemake.input.pose2gloss,
    run_dir=Path(snakemake.output[0]).parent,
    section=snakemake.params.video2pose,
)
