from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.audit.summary import append_section
    from pipelib.evaluation.stage import run_report

    run_report(
        table_path=snakemake.input.table,
        fusion_report=snakemake.input.get("fusion"),
        priors_h5=snakemake.input.priors,
        renders=snakemake.input.renders,
        out_path=snakemake.output[0],
        dataset=snakemake.wildcards.ds,
        stats_csv=snakemake.input.stats,
    )
    if snakemake.input.get("audit"):  # audit.in_report: the audit's summary and table follow
        append_section(snakemake.output[0], snakemake.input.audit)
