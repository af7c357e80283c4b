from pathlib import Path

from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.audit.stage import find_sampled, run_rerun

    run_rerun(
        workdir=Path.cwd(),
        snakefile=snakemake.params.snakefile,
        config=snakemake.config,  # as in audit_sample.py: the run's own config, to repeat its job
        section={"other_device": snakemake.params.other_device},
        sampled=find_sampled(snakemake.input[0], snakemake.wildcards.audited_rule, snakemake.wildcards.job),
        out_dir=snakemake.output[0],
        cores=int(snakemake.resources.get("cpus_per_task") or snakemake.threads),
    )
