# Sign-language pose pipeline: raw video -> five pose estimators -> fused features -> ...
# Read the rule headers in workflow/rules/ for the DAG; all logic lives in src/pipelib/.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/synth.smk"
include: "workflow/rules/manifest.smk"
include: "workflow/rules/poses.smk"
include: "workflow/rules/fusion.smk"
include: "workflow/rules/production.smk"
include: "workflow/rules/evaluation.smk"
include: "workflow/rules/signx.smk"
include: "workflow/rules/audit.smk"


rule all:
    input:
        get_final_output(),
    default_target: True
