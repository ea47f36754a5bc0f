"""Tables read and written by Snowflake SQL, from sqlglot's parse; what it cannot place is reported, not guessed."""

from __future__ import annotations

import pytest

from codex_jupyter.sources.warehouse.lineage import sql_lineage


@pytest.mark.parametrize(
    ("sql", "reads", "writes"),
    [
        ("SELECT * FROM t JOIN s USING (id) WHERE c = :country AND d >= {{low}}", ["t", "s"], []),
        (
            "WITH recent AS (SELECT * FROM raw.events) INSERT INTO out.daily (a, b) SELECT * FROM recent",
            ["raw.events"],
            ["out.daily"],
        ),
        ("CREATE OR REPLACE TABLE mart.spend AS SELECT * FROM db.sch.txns", ["db.sch.txns"], ["mart.spend"]),
        ("MERGE INTO tgt USING src ON tgt.id = src.id WHEN MATCHED THEN UPDATE SET v = src.v", ["src"], ["tgt"]),
        ("UPDATE t SET a = 1 FROM s WHERE t.id = s.id", ["s"], ["t"]),
        ("DELETE FROM t USING s WHERE t.id = s.id", ["s"], ["t"]),
        ("DROP TABLE IF EXISTS a, b; TRUNCATE TABLE c", [], ["a", "b", "c"]),
        (
            "SELECT f.value FROM t, LATERAL FLATTEN(input => t.arr) f QUALIFY row_number() OVER (ORDER BY 1) = 1",
            ["t"],
            [],
        ),
        ("SELECT 1 UNION ALL SELECT n FROM numbers", ["numbers"], []),
        ("SHOW TABLES; USE WAREHOUSE wh; CREATE STAGE landing; GRANT SELECT ON t TO ROLE r", [], []),
    ],
)
def test_reads_and_writes(sql: str, reads: list[str], writes: list[str]) -> None:
    found = sql_lineage(sql)
    assert (found.reads, found.writes, found.unknown) == (reads, writes, [])


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("SELEC oops FROM", "statement 1 does not parse as Snowflake SQL"),
        ("SELECT 1; EXECUTE TASK nightly", "statement 2: sqlglot keeps EXECUTE as an opaque command"),
        ("SELECT * FROM IDENTIFIER(:name)", "IDENTIFIER(:name) is not a named table"),
        ("COPY INTO landing FROM @stage/day.csv", "@stage/day.csv is not a named table"),
    ],
)
def test_what_sqlglot_cannot_place_is_reported_and_no_table_is_guessed(sql: str, says: str) -> None:
    found = sql_lineage(sql)
    assert [u for u in found.unknown if says in u], found.unknown
    assert not {"oops", "nightly", "name"} & set(found.reads + found.writes)
