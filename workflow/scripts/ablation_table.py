from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.evaluation.ablations import run_ablation_table

    run_ablation_table(
        skeleton_h5=snakemake.input.skeletons,
        rows=snakemake.params.rows,
        back_translators=snakemake.params.back_translators,
        evaluation=snakemake.params.evaluation,
        split=snakemake.params.split,
        dataset=snakemake.params.dataset,
        reported_csv=snakemake.input.reported,
        table_path=snakemake.output.table,
    )
