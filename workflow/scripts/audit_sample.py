from pathlib import Path

from pipelib import runlog
from pipelib.audit.stage import run_sample

runlog.setup(snakemake.log[0])
# The whole config reproduces the recorded jobs; it is not a param: a result-changing edit rebuilds the
# targets (this job's input), and an edit that changes no result must not re-run the audit.
run_sample(
    workdir=Path.cwd(),
    snakefile=snakemake.params.snakefile,
    config=snakemake.config,
    section=snakemake.params.audit,
    targets=list(snakemake.input),
    out_json=snakemake.output[0],
)
