# Stage synth: render the embedded synthetic corpus in the PHOENIX-2014-T layout.


rule synth_corpus:
    output:
        directory("resources/{ds}/synthetic"),
    log:
        "logs/{ds}/synth_corpus.log",
    wildcard_constraints:
        ds="|".join(synthetic_datasets()) or "^$",
    params:
        synthetic=lambda wc: synthetic_params(wc.ds),
    threads: 2  # sentences render in parallel processes; the corpus does not depend on their number
    resources:
        **rule_resources("synth_corpus"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/synth_corpus.py"
