from pipelib import runlog

with runlog.job(snakemake.log[0]):
    from pipelib.poses.stage import run

    run(
        manifest_path=snakemake.input.manifest,
        holistic_path=snakemake.input.get("holistic"),
        slot=snakemake.wildcards.slot,
        shard=int(snakemake.wildcards.shard),
        estimator=snakemake.params.estimator,
        extraction=snakemake.params.extraction,
        out_path=snakemake.output[0],
        gpu_booked=int(snakemake.resources.get("gpu", 0) or 0) > 0,
    )
