# Stage audit: a seeded sample of the jobs recorded for a dataset's outputs is drawn (checkpoint),
# each drawn job is re-executed as its own job with the resources of the rule it repeats, in
# results/{ds}/audit/<rule>/<id>/ (never over the real outputs), and a final job compares.


checkpoint audit_sample:
    input:
        audit_targets,
    output:
        AUDIT_SAMPLE,
    log:
        "logs/{ds}/audit/sample.log",
    params:
        audit=audit_sample_section(),
        snakefile=workflow.main_snakefile,
    resources:
        **rule_resources("audit"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/audit_sample.py"


rule audit_rerun:
    input:
        AUDIT_SAMPLE,
    output:
        audit_scratch(directory("results/{ds}/audit/{audited_rule}/{job}")),
    log:
        "logs/{ds}/audit/{audited_rule}/{job}.log",
    wildcard_constraints:
        audited_rule=r"[A-Za-z_]\w*",
        job=r"\d+",
    params:
        snakefile=workflow.main_snakefile,
        other_device=config["audit"]["other_device"],
    resources:
        **audit_rerun_resources(),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/audit_rerun.py"


rule audit:
    input:
        sample=AUDIT_SAMPLE,
        reruns=get_audit_reruns,
    output:
        report(
            "results/{ds}/audit.csv",
            caption="../report/audit.rst",
            category="Audit",
        ),
    log:
        "logs/{ds}/audit.log",
    params:
        audit=audit_compare_section(),
    resources:
        **rule_resources("audit"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/audit_compare.py"
