from pipelib import runlog
from pipelib.skeletons.stage import run

runlog.setup(snakemake.log[0])
run(snakemake.input.manifest, snakemake.input.holistic, snakemake.params.skeletons, snakemake.output[0])
