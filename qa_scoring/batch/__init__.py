"""Overnight batch scoring: one ``process_call`` run by a local pool or by Celery workers."""
