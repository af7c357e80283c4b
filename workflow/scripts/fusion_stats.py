from pipelib import runlog
from pipelib.fusion.stage import run_stats

runlog.setup(snakemake.log[0])
run_stats(
    manifest_path=snakemake.input.manifest,
    slot_shards=snakemake.input.shards,
    options=snakemake.params.fusion,
    out_path=snakemake.output[0],
)
