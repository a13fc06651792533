"""Redaction of personal and card data (Data Protection Act 2018, PCI DSS), on by default.

Stored transcripts get typed placeholders (``[CARD]``, ``[CVV]``, ``[EXPIRY]``, ``[SORT_CODE]``,
``[ACCOUNT]``, ``[DOB]``, ``[POSTCODE]``, ``[EMAIL]``, ``[PHONE]``) that keep the removed words'
times, and the UI plays a copy of the audio with those times blanked.
"""

from qa_scoring.redact.entities import KINDS, Entity, find_entities
from qa_scoring.redact.transcript import PLACEHOLDERS, RedactedSpan, redact_transcript

__all__ = ["KINDS", "PLACEHOLDERS", "Entity", "RedactedSpan", "find_entities", "redact_transcript"]
