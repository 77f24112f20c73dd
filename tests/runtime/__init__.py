"""Tests of the guarded automation runtime (``gateway.runtime``)."""
