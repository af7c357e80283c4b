"""File formats shared by every stage: atomic writes, the per-video HDF5 shard, parquet tables."""
