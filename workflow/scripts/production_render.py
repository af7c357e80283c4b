from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.production.stage import render

    render(
        snakemake.input.predictions,
        snakemake.input.skeletons,
        snakemake.params.generation,
        snakemake.output[0],
        system=snakemake.wildcards.system,
    )
