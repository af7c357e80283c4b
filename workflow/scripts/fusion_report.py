from pipelib import runlog
from pipelib.fusion.stage import run_report

runlog.setup(snakemake.log[0])
run_report(
    slot_shards=snakemake.input.slots, fused_shards=snakemake.input.fused, out_path=snakemake.output[0]
)
