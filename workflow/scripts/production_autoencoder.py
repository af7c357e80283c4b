from pathlib import Path

import torch

from pipelib import runlog
from pipelib.production.train_autoencoder import train_autoencoder

runlog.setup(snakemake.log[0])
# One thread per job: Snakemake runs jobs side by side, and small models gain nothing from more.
torch.set_num_threads(snakemake.threads)
train_autoencoder(snakemake.input[0], snakemake.params.autoencoder, Path(snakemake.output[0]).parent)
