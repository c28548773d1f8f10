"""Ranking physics-stage candidates: pose features, the ranker network, and its training on decoys."""
