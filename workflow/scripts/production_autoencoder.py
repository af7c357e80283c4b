from pathlib import Path

from pipelib import runlog

with runlog.job(snakemake.log[0]):
    import torch

    # One thread per job: Snakemake runs jobs side by side, and small models gain nothing from more.
    torch.set_num_threads(snakemake.threads)
    from pipelib.production.train_autoencoder import train_autoencoder

    train_autoencoder(snakemake.input[0], snakemake.params.autoencoder, Path(snakemake.output[0]).parent)
