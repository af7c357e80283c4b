from pathlib import Path

import torch

from pipelib import runlog
from pipelib.evaluation.back_translator import train_back_translator

runlog.setup(snakemake.log[0])
# One thread per job: Snakemake runs jobs side by side, and small models gain nothing from more.
torch.set_num_threads(snakemake.threads)
train_back_translator(
    snakemake.input[0],
    snakemake.params.back_translation,
    Path(snakemake.output[0]).parent,
    snakemake.params.fps,
)
