from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.production.latents import encode_dataset

    encode_dataset(snakemake.input.skeletons, snakemake.input.autoencoder, snakemake.output[0])
