from pathlib import Path

from pipelib import runlog
from pipelib.audit.stage import run_compare

runlog.setup(snakemake.log[0])
run_compare(
    workdir=Path.cwd(),
    section=snakemake.params.audit,
    sample_json=snakemake.input.sample,
    table_path=snakemake.output[0],
)
