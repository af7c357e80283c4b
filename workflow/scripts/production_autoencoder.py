from pathlib import Path

from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.production.train_autoencoder import train_autoencoder

    train_autoencoder(snakemake.input[0], snakemake.params.autoencoder, Path(snakemake.output[0]).parent)
