from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.estimators.base import SLOT_ORDER
    from pipelib.fusion.stage import run_apply

    run_apply(
        slot_paths={slot: snakemake.input[slot] for slot in SLOT_ORDER},
        stats_path=snakemake.input.stats,
        options=snakemake.params.fusion,
        out_path=snakemake.output[0],
    )
