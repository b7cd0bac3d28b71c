"""Transcriber stage: audio batches -> final transcript segments, one JSON file per batch."""
