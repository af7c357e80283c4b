from pipelib import runlog

with runlog.job(snakemake.log[0]):
    import torch

    # One thread per job: Snakemake runs jobs side by side, and small models gain nothing from more.
    torch.set_num_threads(snakemake.threads)
    from pipelib.production.predictions import write_predictions

    write_predictions(
        snakemake.input.generator,
        snakemake.input.autoencoder,
        snakemake.input.skeletons,
        snakemake.params.generation["splits"],
        snakemake.output[0],
    )
