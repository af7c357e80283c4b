from pathlib import Path

from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.audit.stage import run_audit

    run_audit(
        workdir=Path.cwd(),
        snakefile=snakemake.params.snakefile,
        config=snakemake.params.config,
        section=snakemake.params.audit,
        targets=list(snakemake.input),
        table_path=snakemake.output[0],
        scratch=snakemake.params.scratch,
        cores=snakemake.threads,
    )
