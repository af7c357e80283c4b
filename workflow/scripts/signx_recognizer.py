from pathlib import Path

from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.signx.train_recognizer import train_recognizer

    train_recognizer(
        manifest=snakemake.input.manifest,
        aug_shards=snakemake.input.aug,
        latent_shards=snakemake.input.latents,
        pruning_json=snakemake.input.pruning,
        run_dir=Path(snakemake.output[0]).parent,
        section=snakemake.params.recognizer,
        target=snakemake.wildcards.target,
    )
