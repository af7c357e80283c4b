from pathlib import Path

from pipelib import runlog

with runlog.job(snakemake.log[0]):
    import torch

    # One thread per job: Snakemake runs jobs side by side, and small models gain nothing from more.
    torch.set_num_threads(snakemake.threads)
    from pipelib.production.train_generator import train_generator

    train_generator(
        snakemake.input.latents,
        snakemake.params.generator,
        snakemake.params.phase,
        Path(snakemake.output[0]).parent,
        priors_h5=snakemake.input.get("priors"),
        init_from=snakemake.input.get("phase1"),
    )
