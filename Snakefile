# The workflow is workflow/Snakefile (the Snakemake catalog's location), which `snakemake` finds by
# itself from the repository root. This file keeps commands that name `-s Snakefile` working. It does
# what Snakemake does with the Snakefile it is given: an `include:` directive would keep this file's own
# (empty) default target instead of the workflow's `rule all`.
workflow.include("workflow/Snakefile", overwrite_default_target=True)
