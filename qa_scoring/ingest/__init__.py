"""Registering recordings and their metadata in the store."""

from qa_scoring.ingest.register import AUDIO_EXTENSIONS, IngestReport, ingest_paths

__all__ = ["AUDIO_EXTENSIONS", "IngestReport", "ingest_paths"]
