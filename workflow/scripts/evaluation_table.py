from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.evaluation.stage import run_table

    run_table(
        skeleton_h5=snakemake.input.skeletons,
        predictions={"DARSLP": snakemake.input.phase1, "DARSLP-KL": snakemake.input.phase2},
        back_translator=snakemake.input.back_translator,
        section=snakemake.params.evaluation,
        dataset=snakemake.params.dataset,
        reported_csv=snakemake.input.reported,
        table_path=snakemake.output[0],
    )
