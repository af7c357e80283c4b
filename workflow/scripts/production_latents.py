from pipelib import runlog
from pipelib.production.latents import encode_dataset

runlog.setup(snakemake.log[0])
encode_dataset(snakemake.input.skeletons, snakemake.input.autoencoder, snakemake.output[0])
