from pathlib import Path

import torch

from pipelib import runlog
from pipelib.production.train_generator import train_generator

runlog.setup(snakemake.log[0])
# One thread per job: Snakemake runs jobs side by side, and small models gain nothing from more.
torch.set_num_threads(snakemake.threads)
train_generator(
    snakemake.input.latents,
    snakemake.params.generator,
    snakemake.params.phase,
    Path(snakemake.output[0]).parent,
    priors_h5=snakemake.input.get("priors"),
    init_from=snakemake.input.get("phase1"),
)
