"""The logical lake: the source contract, bindings to physical storage, contract checks, demo data."""
