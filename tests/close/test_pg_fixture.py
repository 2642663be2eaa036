"""The PostgreSQL fixture gives a working server: connect, create a table, and read money back
exactly (NUMERIC(18,2) <-> Decimal, never float)."""

from __future__ import annotations

from decimal import Decimal

import pg
import pytest
import sqlalchemy as sa


def test_pg_url_round_trips_money_exactly(pg_url: str):
    assert pg_url.startswith("postgresql+psycopg://soxauto@127.0.0.1:")
    assert pg_url.endswith("/soxauto_test")
    engine = sa.create_engine(pg_url)
    meta = sa.MetaData()
    table = sa.Table("fixture_money", meta, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("amount", sa.Numeric(18, 2, asdecimal=True), nullable=False))
    amounts = [Decimal("0.10"), Decimal("0.20"), Decimal("9999999999999999.99"), Decimal("-1234567.89")]
    try:
        with engine.begin() as con:
            meta.create_all(con)
            con.execute(sa.insert(table), [{"id": i, "amount": a} for i, a in enumerate(amounts)])
        with engine.connect() as con:
            rows = con.execute(sa.select(table.c.amount).order_by(table.c.id)).scalars().all()
            total = con.execute(sa.select(sa.func.sum(table.c.amount))).scalar_one()
            server = con.execute(sa.text("SELECT inet_server_addr()::text, current_database(), version()")).one()
    finally:
        with engine.begin() as con:
            meta.drop_all(con)
        engine.dispose()
    assert rows == amounts
    assert all(type(r) is Decimal for r in rows)
    # 9999999999999999.99 - 1234567.89 + 0.10 + 0.20, worked by hand; a double near 1e16 cannot
    # even hold the cents (its spacing there is 2.0)
    assert total == Decimal("9999999998765432.40")
    assert server[0] == "127.0.0.1/32"
    assert server[1] == "soxauto_test"
    assert server[2].startswith("PostgreSQL ")


def test_no_server_is_a_failure_not_a_skip(monkeypatch):
    monkeypatch.setattr(pg.glob, "glob", lambda pattern: [])
    with pytest.raises(pytest.fail.Exception, match=r"run `bash scripts/test-deps.sh`"):
        pg.server_bin()


def test_stop_removes_the_folder_even_when_the_server_never_started():
    cluster = pg.Cluster()
    assert cluster.root.is_dir()
    cluster.stop()
    assert not cluster.root.exists()
