"""SignX: continuous sign recognition in a compact pose-rich latent space (fused 1959-d pose features ->
stage-1 Pose2Gloss latents, stage-2 Video2Pose from raw frames, latent-space recognition)."""
