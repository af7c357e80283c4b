from pipelib import runlog
from pipelib.production.stage import render

runlog.setup(snakemake.log[0])
render(
    snakemake.input.predictions, snakemake.input.skeletons, snakemake.params.generation, snakemake.output[0]
)
