"""The waste registry: sites, waste streams, passports, the journal, balances, storage limits."""
