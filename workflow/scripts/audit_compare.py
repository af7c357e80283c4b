from pathlib import Path

from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.audit.stage import run_compare

    run_compare(
        workdir=Path.cwd(),
        section=snakemake.params.audit,
        sample_json=snakemake.input.sample,
        table_path=snakemake.output[0],
    )
