"""The two engines that run the steps of indicators.py: DuckDB (one machine) and Spark (a cluster, or
`local[*]`). Both get the same SQL text: DuckDB runs it after a round trip through SQLGlot (so a statement
Spark could not be given fails on DuckDB too), Spark gets it compiled by SQLGlot to its dialect.

An engine registers the exported Parquet files (with a `province` column per folder) and the small tables
Python made, defines views, and writes results as Parquet into the run's folder; the driver never collects
a fact, it reads the written alerts and rankings back with pyarrow.

Inside the engines `province` is an integer (the folder's six-digit code as a number), and every key (an
integer column named `id` or `*_id`) carries its province: ids are unique only within a province's database,
so a key is the province's ordinal (its place among the run's provinces, by code) × 2⁴⁰ + the id
(run.check_inputs makes sure every id is below 2⁴⁰), and the joins of indicators.py match on the key alone: a
second join key (the province) cost DuckDB's hash joins about a fifth of their time (bench/RESULTS.md,
session 15). The first province's keys are its ids, unchanged (a province run alone pays nothing for the
encoding). The value 0 is no id (the batch of `ctx`'s rows for lines of no item, monitoring.facts.NO_BATCH)
and stays 0. Result files carry the province as the text code and the ids of its database again."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot

READ_DIALECT = "duckdb"
KEY_SHIFT = 1 << 40


def is_key(name: str, integer: bool) -> bool:
    return integer and (name == "id" or name.endswith("_id"))


def key_offsets(provinces) -> dict[int, int]:
    """Province code (as an integer) → what its keys add to its ids."""
    return {int(code): i * KEY_SHIFT for i, code in enumerate(sorted(provinces, key=int))}


def encode_keys(table: pa.Table, offsets: dict[int, int]) -> pa.Table:
    """A small table built on the driver with its keys encoded as in the files (0 stays 0)."""
    if "province" not in table.schema.names:
        return table
    import pyarrow.compute as pc

    codes = pa.array(list(offsets), pa.int64())
    offset = pc.take(pa.array(list(offsets.values()), pa.int64()), pc.index_in(table["province"], codes))
    for i, field in enumerate(table.schema):
        if is_key(field.name, pa.types.is_integer(field.type)):
            column = table[field.name].cast(pa.int64())
            encoded = pc.if_else(pc.equal(column, 0), column, pc.add(column, offset))
            table = table.set_column(i, pa.field(field.name, pa.int64()), encoded)
    return table


@functools.lru_cache(maxsize=256)
def compile_sql(sql: str, dialect: str) -> str:
    """The statement in `dialect` (cached: run_national compiles the steps ahead on a worker thread while the
    engine runs the first ones; SQLGlot takes about 0.15 s for all of them)."""
    return sqlglot.transpile(sql, read=READ_DIALECT, write=dialect, pretty=False)[0]


def quote_path(path: Path) -> str:
    """A file path as an SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


class DuckDBEngine:
    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, provinces):
        import duckdb

        self.offsets = key_offsets(provinces)
        self.con = duckdb.connect()
        threads = os.environ.get("JICAI_DUCKDB_THREADS")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        # No step's output order matters (alerts are sorted after, rankings when written): let DuckDB write
        # tables and Parquet from all threads without keeping the input order.
        self.con.execute("SET preserve_insertion_order = false")

    def register_parquet(self, name: str, files: dict[str, Path], columns: tuple[str, ...]) -> None:
        parts = []
        for province, path in sorted(files.items()):
            schema = pq.read_schema(path)
            offset = self.offsets[int(province)]
            cols = ", ".join(
                f'"{c}" + {offset} AS "{c}"'
                if offset and is_key(c, pa.types.is_integer(schema.field(c).type))
                else f'"{c}"'
                for c in columns
            )
            parts.append(
                f"SELECT CAST({int(province)} AS INTEGER) AS province, {cols} FROM read_parquet({quote_path(path)})"
            )
        self.con.execute(f"CREATE OR REPLACE VIEW {name} AS " + " UNION ALL ".join(parts))

    def register_table(self, name: str, table: pa.Table) -> None:
        self.con.register(f"{name}_arrow", encode_keys(table, self.offsets))
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_arrow")
        self.con.unregister(f"{name}_arrow")

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE VIEW {name} AS {compile_sql(sql, self.dialect)}")

    # The row-per-line intermediates stay views here: DuckDB streams them from Parquet again where they are
    # read, which measured faster than holding them (1.8 s to store a province's 13.5 M lines, 3.3 s with
    # their contexts). The purchase events are stored: four steps read them, and each would otherwise join
    # the receipts to the order lines again (bench/RESULTS.md, session 14).
    STREAMED = frozenset({"ln", "lc"})

    def work(self, name: str, sql: str, path: Path) -> None:
        if name in self.STREAMED:
            self.view(name, sql)
            return
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {compile_sql(sql, self.dialect)}")

    INTEGERS = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"})

    def result(self, name: str, sql: str, path: Path) -> None:
        # Kept as a table (keys encoded) for the later steps, and written with the ids of the province's database.
        self.work(name, sql, path)
        keys = [
            column
            for column, type_, *_rest in self.con.execute(f"DESCRIBE {name}").fetchall()
            if is_key(column, type_ in self.INTEGERS)
        ]
        decoded = "".join(f", {k} % {KEY_SHIFT} AS {k}" for k in keys)
        self.con.execute(
            f"COPY (SELECT * REPLACE (CAST(province AS VARCHAR) AS province{decoded}) FROM {name})"
            f" TO {quote_path(path)} (FORMAT parquet, COMPRESSION snappy)"
        )

    def close(self) -> None:
        self.con.close()


_spark_session = None


def spark_session():
    """One session per process (Spark allows one active SparkContext): `JICAI_SPARK_MASTER` or local[*].
    Decimal arithmetic keeps its scale (allowPrecisionLoss off) so sums of qty × item_factor stay exact."""
    global _spark_session
    if _spark_session is None:
        from pyspark.sql import SparkSession

        master = os.environ.get("JICAI_SPARK_MASTER", "local[*]")
        builder = (
            SparkSession.builder.master(master)
            .appName("jicai-national")
            .config("spark.sql.decimalOperations.allowPrecisionLoss", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.adaptive.enabled", "true")
        )
        if master.startswith("local"):
            # One shuffle partition per core on one machine (the default 200 is for clusters): each of the
            # run's few dozen stages then costs a few tasks, not 200.
            cores = master[len("local[") : -1] if master.startswith("local[") else "1"
            cores = str(os.cpu_count() or 2) if cores == "*" else cores
            partitions = os.environ.get("JICAI_SPARK_PARTITIONS", cores)
            builder = builder.config("spark.sql.shuffle.partitions", partitions)
            builder = builder.config("spark.default.parallelism", partitions)
            builder = builder.config("spark.driver.memory", os.environ.get("JICAI_SPARK_DRIVER_MEMORY", "2g"))
        _spark_session = builder.getOrCreate()
        _spark_session.sparkContext.setLogLevel("ERROR")
    return _spark_session


class SparkEngine:
    name = "spark"
    dialect = "spark"

    def __init__(self, provinces, session=None):
        self.offsets = key_offsets(provinces)
        self.spark = session or spark_session()
        self._views: list[str] = []

    def register_parquet(self, name: str, files: dict[str, Path], columns: tuple[str, ...]) -> None:
        from pyspark.sql import functions as F
        from pyspark.sql.types import IntegralType

        frame = None
        for province, path in sorted(files.items()):
            part = self.spark.read.parquet(str(path)).select(*columns)
            part = part.select(
                F.lit(int(province)).cast("int").alias("province"),
                *(
                    (F.col(f.name) + F.lit(self.offsets[int(province)])).alias(f.name)
                    if self.offsets[int(province)] and is_key(f.name, isinstance(f.dataType, IntegralType))
                    else F.col(f.name)
                    for f in part.schema
                ),
            )
            frame = part if frame is None else frame.unionByName(part)
        self._temp_view(frame, name)

    def register_table(self, name: str, table: pa.Table) -> None:
        # Small tables only (contexts, days): built on the driver by design.
        table = encode_keys(table, self.offsets)
        self._temp_view(
            self.spark.createDataFrame(table.to_pylist(), schema=_spark_schema(table.schema)), name
        )

    def view(self, name: str, sql: str) -> None:
        self._temp_view(self.spark.sql(compile_sql(sql, self.dialect)), name)

    def work(self, name: str, sql: str, path: Path) -> None:
        # Written and read back (not cached): the lineage ends here, so Catalyst plans each later step
        # over a scan instead of re-optimising the whole chain, and executors may come and go.
        self.spark.sql(compile_sql(sql, self.dialect)).write.mode("overwrite").parquet(str(path))
        self._temp_view(self.spark.read.parquet(str(path)), name)

    def result(self, name: str, sql: str, path: Path) -> None:
        from pyspark.sql import functions as F
        from pyspark.sql.types import IntegralType

        frame = self.spark.sql(compile_sql(sql, self.dialect))
        keys = [f.name for f in frame.schema if is_key(f.name, isinstance(f.dataType, IntegralType))]
        frame = frame.withColumns(
            {"province": F.col("province").cast("string"), **{k: F.col(k) % KEY_SHIFT for k in keys}}
        )
        frame.write.mode("overwrite").parquet(str(path))
        stored = self.spark.read.parquet(str(path))
        offset = F.lit(0)
        for code, value in self.offsets.items():
            offset = F.when(F.col("province").cast("int") == code, F.lit(value)).otherwise(offset)
        self._temp_view(
            stored.withColumns(
                {
                    **{k: F.when(F.col(k) == 0, F.col(k)).otherwise(F.col(k) + offset) for k in keys},
                    "province": F.col("province").cast("int"),
                }
            ),
            name,
        )

    def _temp_view(self, frame, name: str) -> None:
        frame.createOrReplaceTempView(name)
        self._views.append(name)

    def close(self) -> None:
        for name in self._views:
            self.spark.catalog.dropTempView(name)


def _spark_schema(schema: pa.Schema):
    from pyspark.sql import types as T

    def convert(t: pa.DataType):
        if pa.types.is_int32(t):
            return T.IntegerType()
        if pa.types.is_int64(t):
            return T.LongType()
        if pa.types.is_date32(t):
            return T.DateType()
        if pa.types.is_decimal(t):
            return T.DecimalType(t.precision, t.scale)
        if pa.types.is_float64(t):
            return T.DoubleType()
        return T.StringType()

    return T.StructType([T.StructField(f.name, convert(f.type), True) for f in schema])


def make_engine(name: str, provinces):
    """The engine `name` for a run over `provinces` (their codes: the keys' encoding depends on them)."""
    if name == "duckdb":
        return DuckDBEngine(provinces)
    if name == "spark":
        return SparkEngine(provinces)
    raise ValueError(name)
