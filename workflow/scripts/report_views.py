from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.report.stage import run_views

    run_views(
        {name: (snakemake.input[name], snakemake.output[name]) for name in snakemake.output.keys()},  # noqa: SIM118 (Namedlist iterates values)
        dataset=snakemake.wildcards.ds,
    )
