# Stage poses: one HDF5 shard per dataset x estimator slot x shard. Frame backends decode video;
# *_from_holistic backends read the MediaPipe shard of the same videos instead.


rule poses_extract:
    input:
        unpack(get_poses_input),
    output:
        "results/{ds}/poses/{slot}/shard{shard}.h5",
    log:
        "logs/{ds}/poses/{slot}/shard{shard}.log",
    wildcard_constraints:
        slot="|".join(SLOT_ORDER),
        shard=r"\d+",
    params:
        estimator=lambda wc: estimator_cfg(wc.ds, wc.slot),
        extraction=section("extraction"),
    resources:
        **poses_resources(),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/poses_extract.py"
