from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.fusion.stage import run_stats

    run_stats(
        manifest_path=snakemake.input.manifest,
        slot_shards=snakemake.input.shards,
        options=snakemake.params.fusion,
        out_path=snakemake.output[0],
    )
