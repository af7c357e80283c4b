# Stage report: pages that `snakemake --report report.zip` shows inline (its viewer shows PNG, SVG,
# PDF and HTML, and offers CSV and GIF files only as downloads): each table, the Markdown summary
# (report.md) and each render as one self-contained HTML page.


rule report_tables:
    input:
        table="results/{ds}/{table}.csv",
        stats="results/{ds}/{table}_stats.csv",
    output:
        table=report(
            "results/{ds}/report/{table}.html",
            caption="../report/table.rst",
            category="Evaluation",
        ),
        stats=report(
            "results/{ds}/report/{table}_stats.html",
            caption="../report/table_stats.rst",
            category="Evaluation",
        ),
    log:
        "logs/{ds}/report/{table}.log",
    wildcard_constraints:
        table="table5|table6",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/report_views.py"


rule report_pages:
    input:
        summary="results/{ds}/report.md",
    output:
        summary=report(
            "results/{ds}/report/summary.html",
            caption="../report/summary.rst",
            category="Summary",
        ),
    log:
        "logs/{ds}/report/pages.log",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/report_views.py"


rule report_render_page:
    input:
        render="results/{ds}/production/systems/{system}/comparison.gif",
    output:
        render=report(
            "results/{ds}/report/comparison_{system}.html",
            caption="../report/comparison.rst",
            category="Production",
        ),
    log:
        "logs/{ds}/report/comparison_{system}.log",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/report_views.py"


rule report_video_tables:
    input:
        fusion="results/{ds}/fused/report.csv",
        recognition="results/{ds}/recognition.csv",
        efficiency="results/{ds}/efficiency.csv",
        closeness="results/{ds}/signx/closeness.csv",
    output:
        fusion=report(
            "results/{ds}/report/fusion_report.html",
            caption="../report/fusion_report.rst",
            category="Pose extraction",
        ),
        recognition=report(
            "results/{ds}/report/recognition.html",
            caption="../report/recognition.rst",
            category="SignX",
        ),
        efficiency=report(
            "results/{ds}/report/efficiency.html",
            caption="../report/efficiency.rst",
            category="SignX",
        ),
        closeness=report(
            "results/{ds}/report/closeness.html",
            caption="../report/closeness.rst",
            category="SignX",
        ),
    log:
        "logs/{ds}/report/video_tables.log",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/report_views.py"


rule report_spread_page:
    input:
        spread="results/{ds}/signx/spread.csv",
    output:
        spread=report(
            "results/{ds}/report/spread.html",
            caption="../report/spread.rst",
            category="SignX",
        ),
    log:
        "logs/{ds}/report/spread.log",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/pipelib.yaml"
    script:
        "../scripts/report_views.py"
