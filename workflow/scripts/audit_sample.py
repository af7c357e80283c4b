from pathlib import Path

from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.audit.stage import run_sample

    # The whole config reproduces the recorded jobs; it is not a param: a result-changing edit rebuilds the
    # targets (this job's input), and an edit that changes no result must not re-run the audit.
    run_sample(
        workdir=Path.cwd(),
        snakefile=snakemake.params.snakefile,
        config=snakemake.config,
        section=snakemake.params.audit,
        targets=list(snakemake.input),
        out_json=snakemake.output[0],
    )
