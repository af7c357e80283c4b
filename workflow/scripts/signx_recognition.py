from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.signx.recognition import VideoCheckpoints, write_recognition

    write_recognition(
        manifest=snakemake.input.manifest,
        latent_shards=snakemake.input.latents,
        pruning_json=snakemake.input.pruning,
        checkpoints={t: snakemake.input[f"recognizer_{t}"] for t in snakemake.params.targets},
        out_csv=snakemake.output[0],
        section=snakemake.params.recognition,
        stats_section=snakemake.params.statistics,
        video=VideoCheckpoints(snakemake.input.video2pose, snakemake.input.pose2gloss),
    )
