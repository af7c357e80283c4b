from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.signx.spread import SpreadInputs, write_spread

    write_spread(
        inputs=SpreadInputs(
            manifest=snakemake.input.manifest,
            fused_shards=snakemake.input.fused,
            latent_shards=snakemake.input.latents,
            pruning_json=snakemake.input.pruning,
            recognizers={t: snakemake.input[f"recognizer_{t}"] for t in snakemake.params.targets},
            pose2gloss=snakemake.input.pose2gloss,
        ),
        video2pose=dict(zip(snakemake.params.seeds, snakemake.input.video2pose, strict=True)),
        out_csv=snakemake.output[0],
        section=snakemake.params.recognition,
        closeness_section=snakemake.params.closeness,
        stats_section=snakemake.params.statistics,
    )
