from pipelib import runlog

with runlog.job(snakemake.log[0]):
    import torch

    # One thread per job: Snakemake runs jobs side by side, and small models gain nothing from more.
    torch.set_num_threads(snakemake.threads)
    from pipelib.production.latents import encode_dataset

    encode_dataset(snakemake.input.skeletons, snakemake.input.autoencoder, snakemake.output[0])
