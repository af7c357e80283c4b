from pathlib import Path

from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.evaluation.back_translator import train_back_translator

    train_back_translator(
        snakemake.input[0],
        snakemake.params.back_translation,
        Path(snakemake.output[0]).parent,
    )
