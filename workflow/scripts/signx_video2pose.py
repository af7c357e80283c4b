from pathlib import Path

from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.signx.train_video2pose import train_video2pose

    train_video2pose(
        manifest=snakemake.input.manifest,
        fused_shards=snakemake.input.fused,
        pose2gloss_ckpt=snakemake.input.pose2gloss,
        run_dir=Path(snakemake.output[0]).parent,
        section=snakemake.params.video2pose,
    )
