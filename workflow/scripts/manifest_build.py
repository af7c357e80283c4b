from pipelib import runlog
from pipelib.datasets.stage import run

runlog.setup(snakemake.log.main)
run(
    name=snakemake.wildcards.ds,
    dataset=snakemake.params.dataset,
    options=snakemake.params.manifest,
    manifest_path=snakemake.output.manifest,
    rejected_path=snakemake.output.rejected,
    rejected_log=snakemake.log.rejected,
)
