"""Views for ``snakemake --report``: results a researcher reads in the report viewer itself.

The viewer shows PNG, JPEG, SVG, PDF and HTML inline and offers everything else (CSV tables, GIF
renders) as a download. Each function here turns one result into one self-contained HTML page (no
external files, scripts or fonts): a CSV as a table (:mod:`.tables`), the Markdown ``report.md`` as
formatted text (:mod:`.markdown`), a GIF render as its animation beside a strip of its frames
(:mod:`.renders`). :mod:`.page` holds the shared page frame.
"""
