from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.signx.closeness_stage import evaluate_closeness

    evaluate_closeness(
        manifest=snakemake.input.manifest,
        fused_shards=snakemake.input.fused,
        pose2gloss_ckpt=snakemake.input.pose2gloss,
        video2pose_ckpt=snakemake.input.video2pose,
        out_csv=snakemake.output[0],
        section=snakemake.params.closeness,
        dataset=snakemake.wildcards.ds,
        split=snakemake.params.closeness["split"],
    )
