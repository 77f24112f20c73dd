"""Privacy inside the immutable audit log: personal fields sealed with per-person data
keys (crypto-shredding), subject rights and retention (``docs/privacy.md``)."""
