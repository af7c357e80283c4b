# Stage evaluation: train the back-translator, score every system (table5 / table6), report.


rule back_translator:
    input:
        "results/{ds}/production/skeletons.h5",
    output:
        "results/{ds}/evaluation/back_translator/best.pt",
    log:
        "logs/{ds}/evaluation/back_translator.log",
    params:
        back_translation=back_translation_params(),
        fps=lambda wc: dataset_cfg(wc.ds).get("fps", 25.0),
    resources:
        **rule_resources("train"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/evaluation_back_translator.py"


rule table:
    input:
        skeletons="results/{ds}/production/skeletons.h5",
        phase1="results/{ds}/production/predictions_phase1.h5",
        phase2="results/{ds}/production/predictions_phase2.h5",
        back_translator=get_back_translator,
        reported=reported_scores(),
    output:
        report(
            "results/{ds}/{table}.csv",
            caption="../report/table.rst",
            category="Evaluation",
        ),
    log:
        "logs/{ds}/evaluation/{table}.log",
    wildcard_constraints:
        table="table5|table6",
    params:
        evaluation=evaluation_params(),
        dataset=lambda wc: dataset_params(wc.ds, named=True),
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/evaluation_table.py"


rule report_md:
    input:
        unpack(get_report_inputs),
    output:
        "results/{ds}/report.md",
    log:
        "logs/{ds}/evaluation/report.log",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/evaluation_report.py"
