from pathlib import Path

from pipelib import runlog
from pipelib.production.train_autoencoder import train_autoencoder

runlog.setup(snakemake.log[0])
train_autoencoder(snakemake.input[0], snakemake.params.autoencoder, Path(snakemake.output[0]).parent)
