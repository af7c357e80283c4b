from pipelib import runlog

with runlog.job(snakemake.log[0]):
    import torch

    # One thread per job: Snakemake runs jobs side by side, and small models gain nothing from more.
    torch.set_num_threads(snakemake.threads)
    from pathlib import Path

    from pipelib.production.systems import train_run

    train_run(
        snakemake.input.latents,
        snakemake.params.generator,
        snakemake.wildcards.system,
        snakemake.params.system,
        int(snakemake.wildcards.seed),
        Path(snakemake.output[0]).parent,
        priors_h5=snakemake.input.get("priors"),
        init_from=snakemake.input.get("init_from"),
    )
