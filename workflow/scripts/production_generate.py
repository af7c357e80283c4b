from pipelib import runlog
from pipelib.production.generate import write_predictions

runlog.setup(snakemake.log[0])
write_predictions(
    snakemake.input.generator,
    snakemake.input.autoencoder,
    snakemake.input.skeletons,
    snakemake.params.generation["splits"],
    snakemake.output[0],
)
