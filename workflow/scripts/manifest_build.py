from pipelib import runlog

with runlog.job(snakemake.log.main):
    from pipelib.datasets.stage import run

    run(
        name=snakemake.wildcards.ds,
        dataset=snakemake.params.dataset,
        options=snakemake.params.manifest,
        manifest_path=snakemake.output.manifest,
        rejected_path=snakemake.output.rejected,
        rejected_log=snakemake.log.rejected,
    )
