from pipelib import runlog
from pipelib.production.latents import priors_from_latents

runlog.setup(snakemake.log[0])
priors_from_latents(
    snakemake.input[0], snakemake.params.priors, snakemake.output.priors, snakemake.output.figure
)
