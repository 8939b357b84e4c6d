"""The marketplace: lots offered from the registry, search, saved searches, watch list."""
