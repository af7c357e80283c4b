from pathlib import Path

from pipelib import runlog

with runlog.job(snakemake.log[0]):
    import torch

    # One thread per job: Snakemake runs jobs side by side, and small models gain nothing from more.
    torch.set_num_threads(snakemake.threads)
    from pipelib.evaluation.back_translator import train_back_translator

    train_back_translator(
        snakemake.input[0],
        snakemake.params.back_translation,
        Path(snakemake.output[0]).parent,
    )
