from pipelib import runlog
from pipelib.audit.summary import append_section
from pipelib.evaluation.stage import run_report

runlog.setup(snakemake.log[0])
run_report(
    table_path=snakemake.input.table,
    fusion_report=snakemake.input.fusion,
    priors_h5=snakemake.input.priors,
    renders=snakemake.input.renders,
    out_path=snakemake.output[0],
    dataset=snakemake.wildcards.ds,
)
if snakemake.input.get("audit"):  # audit.in_report: the audit's summary and table follow
    append_section(snakemake.output[0], snakemake.input.audit)
