from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.skeletons.stage import run

    run(snakemake.input.manifest, snakemake.input.holistic, snakemake.params.skeletons, snakemake.output[0])
