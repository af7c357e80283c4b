from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.signx.efficiency import write_efficiency

    write_efficiency(
        manifest=snakemake.input.manifest,
        latent_shards=snakemake.input.latents,
        pruning_json=snakemake.input.pruning,
        checkpoints={t: snakemake.input[f"recognizer_{t}"] for t in snakemake.params.targets},
        pose2gloss_ckpt=snakemake.input.pose2gloss,
        video2pose_ckpt=snakemake.input.video2pose,
        out_csv=snakemake.output[0],
        section=snakemake.params.efficiency,
        job_threads=snakemake.threads,
    )
