from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.limits import check_shard

    check_shard(
        snakemake.input[0],
        snakemake.params.max_failure_fraction,
        source=snakemake.params.source,
        log_path=snakemake.params.reasons,
        marker=snakemake.output[0],
    )
