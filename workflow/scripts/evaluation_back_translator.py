from pathlib import Path

from pipelib import runlog
from pipelib.evaluation.back_translator import train_back_translator

runlog.setup(snakemake.log[0])
train_back_translator(
    snakemake.input[0],
    snakemake.params.back_translation,
    Path(snakemake.output[0]).parent,
)
