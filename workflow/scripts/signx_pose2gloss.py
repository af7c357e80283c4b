from pathlib import Path

from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.signx.train_pose2gloss import train_pose2gloss

    train_pose2gloss(
        manifest=snakemake.input.manifest,
        fused_shards=snakemake.input.fused,
        run_dir=Path(snakemake.output[0]).parent,
        section=snakemake.params.pose2gloss,
    )
