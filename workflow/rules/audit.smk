# Stage audit: re-execute a seeded sample of the jobs recorded for a dataset's final outputs in
# results/{ds}/audit/ (scratch, removed after a clean audit) and compare their outputs.


rule audit:
    input:
        lambda wc: dataset_outputs(wc.ds),
    output:
        "results/{ds}/audit.csv",
    log:
        "logs/{ds}/audit.log",
    params:
        audit=section("audit"),
        config=tracked_section(config),
        snakefile=workflow.main_snakefile,
        scratch=lambda wc: f"results/{wc.ds}/audit",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/audit_run.py"
