# Stage evaluation: train the back-translator, score every system with every configured back-translator
# (table5 / table6), report; export poses as SLRTP .pt files for the official evaluator (on request).


rule back_translator:
    input:
        "results/{ds}/production/skeletons.h5",
    output:
        "results/{ds}/evaluation/back_translator/best.pt",
    log:
        "logs/{ds}/evaluation/back_translator.log",
    params:
        back_translation=back_translation_params(),
    resources:
        **rule_resources("train"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/evaluation_back_translator.py"


rule table:
    input:
        unpack(get_table_inputs),
    output:
        table=report(
            "results/{ds}/{table}.csv",
            caption="../report/table.rst",
            category="Evaluation",
        ),
        stats=report(
            "results/{ds}/{table}_stats.csv",
            caption="../report/table_stats.rst",
            category="Evaluation",
        ),
        seeds="results/{ds}/{table}_seeds.csv",
    log:
        "logs/{ds}/evaluation/{table}.log",
    wildcard_constraints:
        table="table5|table6",
    params:
        evaluation=evaluation_params(),
        dataset=lambda wc: dataset_params(wc.ds, named=True),
        systems=lambda wc: system_predictions(wc.ds),
        predictions=lambda wc: external_predictions(wc.ds),
        back_translators=lambda wc: back_translator_sources(wc.ds),
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/evaluation_table.py"


rule export_slrtp:
    input:
        get_export_input,
    output:
        "results/{ds}/export/{system}_{split}.pt",
    log:
        "logs/{ds}/evaluation/export_{system}_{split}.log",
    wildcard_constraints:
        system=EXPORT_SYSTEMS,
        split="train|dev|test",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/evaluation_export.py"


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
