from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.synth.stage import run

    run(snakemake.output[0], snakemake.params.synthetic, workers=snakemake.threads)
