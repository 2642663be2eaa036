"""SOXauto: the SOX reconciliation control C-PG-1, automated end to end."""

__version__ = "0.1.0"
