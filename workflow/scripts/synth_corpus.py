from pipelib import runlog
from pipelib.synth.stage import run

runlog.setup(snakemake.log[0])
run(snakemake.output[0], snakemake.params.synthetic, workers=snakemake.threads)
