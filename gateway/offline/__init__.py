"""Disconnected on-site work: field kits, offline decisions, local audit segments and
their verifiable merge into the central log (``docs/offline.md``)."""
