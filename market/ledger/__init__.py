"""The public ledger: an append-only log whose entries are the leaves of an RFC 6962 / RFC 9162
Merkle tree, with signed tree heads, inclusion and consistency proofs, and a verifier.

Modules: canonical (the bytes that are hashed), merkle (hashes, proofs, verifiers; no database),
models, signing (Ed25519 tree heads), store (proofs from the stored leaves), operations
(append, publish, the hooks of other domains), verify (the whole-ledger check), views, cli, jobs.
"""
