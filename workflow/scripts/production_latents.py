import torch

from pipelib import runlog
from pipelib.production.latents import encode_dataset

runlog.setup(snakemake.log[0])
# One thread per job: Snakemake runs jobs side by side, and small models gain nothing from more.
torch.set_num_threads(snakemake.threads)
encode_dataset(snakemake.input.skeletons, snakemake.input.autoencoder, snakemake.output[0])
