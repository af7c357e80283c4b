"""Stage poses: run one estimator slot over the videos of one shard."""
