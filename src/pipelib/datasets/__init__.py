"""Dataset readers and the per-dataset manifest.

Each corpus kind has one reader module whose ``scan(root, ...)`` lists :class:`records.Entry` rows:

- ``phoenix`` (kinds ``phoenix14t`` and ``synthetic``): PHOENIX-2014-T layout, PNG frame folders.
- ``csl_daily``: CSL-Daily, JPEG frame folders.
- ``slrtp``: SLRTP 2025 challenge pose files, one ``.pt`` per split.
- ``videos``: plain video files listed in ``<root>/corpus.csv``.
- ``pose_files``: pose-format ``.pose`` files listed in ``<root>/corpus.csv``.

``frames`` lists, decodes and verifies frame folders and video files; ``manifest`` verifies every
entry, assigns shards and writes the manifest and rejected tables as parquet. ``values`` holds the
value checks later stages apply at their boundaries (NaN/Inf and implausible values masked and
counted, empty splits refused naming dataset and split).
"""
