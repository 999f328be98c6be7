"""Sync: clocks and change capture now; bundles, signing and merge build on them."""
