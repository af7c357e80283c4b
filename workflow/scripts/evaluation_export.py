from pipelib import runlog
from pipelib.skeletons.export import export_slrtp

runlog.setup(snakemake.log[0])
export_slrtp(snakemake.input[0], snakemake.wildcards.split, snakemake.output[0])
