from pathlib import Path

from pipelib import runlog
from pipelib.audit.stage import run_audit

runlog.setup(snakemake.log[0])
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
