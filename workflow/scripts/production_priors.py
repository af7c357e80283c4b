from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.production.latents import priors_from_latents

    priors_from_latents(
        snakemake.input[0], snakemake.params.priors, snakemake.output.priors, snakemake.output.figure
    )
