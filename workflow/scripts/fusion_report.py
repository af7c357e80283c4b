from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.fusion.stage import run_report

    run_report(
        slot_shards=snakemake.input.slots, fused_shards=snakemake.input.fused, out_path=snakemake.output[0]
    )
