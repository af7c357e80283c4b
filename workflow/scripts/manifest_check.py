from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.limits import check_manifest

    check_manifest(
        snakemake.input.manifest,
        snakemake.input.rejected,
        snakemake.params.max_reject_fraction,
        source=snakemake.params.source,
        marker=snakemake.output[0],
    )
