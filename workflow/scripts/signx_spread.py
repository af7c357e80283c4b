from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.signx.spread import write_spread

    write_spread(
        manifest=snakemake.input.manifest,
        latent_shards=snakemake.input.latents,
        pruning_json=snakemake.input.pruning,
        recognizers={t: snakemake.input[f"recognizer_{t}"] for t in snakemake.params.targets},
        pose2gloss_ckpt=snakemake.input.pose2gloss,
        video2pose=dict(zip(snakemake.params.seeds, snakemake.input.video2pose, strict=True)),
        out_csv=snakemake.output[0],
        section=snakemake.params.recognition,
        stats_section=snakemake.params.statistics,
    )
