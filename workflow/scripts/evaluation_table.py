from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.evaluation.stage import prediction_sources, run_table

    run_table(
        skeleton_h5=snakemake.input.skeletons,
        predictions=prediction_sources(
            snakemake.params.systems,
            snakemake.params.predictions,
            snakemake.params.evaluation["split"],
        ),
        back_translators=snakemake.params.back_translators,
        section=snakemake.params.evaluation,
        dataset=snakemake.params.dataset,
        reported_csv=snakemake.input.reported,
        table_path=snakemake.output.table,
    )
