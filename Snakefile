# The workflow lives in workflow/Snakefile (the Snakemake catalog's location); this file lets
# `snakemake` find it from the repository root as well as `snakemake -s Snakefile` in older set-ups.


include: "workflow/Snakefile"
