from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.skeletons.export import export_slrtp

    export_slrtp(snakemake.input[0], snakemake.wildcards.split, snakemake.output[0])
