from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.production.predictions import write_predictions

    write_predictions(
        snakemake.input.generator,
        snakemake.input.autoencoder,
        snakemake.input.skeletons,
        snakemake.params.generation["splits"],
        snakemake.output[0],
    )
