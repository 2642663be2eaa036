"""The demo lake's simulation: an event model, the NAV postings derived from it, and its ground truth.

Modules: ``world`` (entities, calendar, random streams, amounts, lags), ``orders``,
``logistics``, ``market``, ``vouchers``, ``customers`` (operations and their postings),
``ledger`` (G/L entries and shared posting patterns), ``story`` (the discrepancies injected on
purpose), ``truth`` (expected reconciliation results, items, states and statuses), ``write``
(Arrow/Parquet), ``entity`` (one entity end to end).
"""
