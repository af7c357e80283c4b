"""Pose, depth and body-part estimators filling the five SignX feature slots."""
