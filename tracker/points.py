"""Metric points, stored in blocks: one row per series and batch.

A batch of 1,000 points over five series is five PointBlock rows, not a thousand:
each holds the points one batch brought to one series as three packed arrays
(steps and timestamps as 64-bit integers, values as 64-bit floats, NaN and ±inf
as they are), with its first and last step to find the blocks of a step range.
Storing a batch is then a few rows to write and index, and reading a series back
is a few rows to fetch and unpack, on PostgreSQL and SQLite alike.

Points are only ever read through this module, in step then time order; a
point's identity is (series, step, timestamp), and tracker.ingest stores each
point once (a replayed batch is recognised against the stored points).
"""

import struct
import sys
from array import array
from collections import defaultdict
from collections.abc import Iterable
from itertools import islice
from operator import lt

from tracker import hot_sql
from tracker.models import PointBlock

BLOCK_TABLE = PointBlock._meta.db_table
_SWAP = sys.byteorder != "little"  # blocks are little-endian on every machine
_ONE_POINT = struct.Struct("<qqd")


def pack(steps: list[int], timestamps: list[int], values: list[float]) -> bytes:
    """One block's data: every step, then every timestamp, then every value."""
    columns = array("q", steps), array("q", timestamps), array("d", values)
    if _SWAP:  # pragma: no cover (big-endian machines)
        for column in columns:
            column.byteswap()
    return b"".join(column.tobytes() for column in columns)


def pack_arrays(steps, timestamps, values) -> bytes:
    """pack() for numpy arrays (tracker.services.seeding writes millions of blocks): the same
    bytes, made without a Python object per point."""
    return steps.astype("<i8").tobytes() + timestamps.astype("<i8").tobytes() + \
        values.astype("<f8").tobytes()


def unpack(data: bytes | memoryview) -> tuple[array, array, array]:
    """A block's (steps, timestamps, values)."""
    size = len(data) // 24
    steps, timestamps, values = array("q"), array("q"), array("d")
    steps.frombytes(data[:8 * size])
    timestamps.frombytes(data[8 * size:16 * size])
    values.frombytes(data[16 * size:])
    if _SWAP:  # pragma: no cover
        for column in (steps, timestamps, values):
            column.byteswap()
    return steps, timestamps, values


Columns = tuple[list[int], list[int], list[float]]  # a series' steps, timestamps, values


def append(blocks: dict[int, Columns], *, ordered: bool = False) -> None:
    """Store new points: {summary id: (steps, timestamps, values)}, one block per series.

    The caller holds the run's lock and has made sure none of them is stored yet;
    `ordered` says each series' points already rise by (step, timestamp).
    """
    rows = []
    for summary_id, (steps, timestamps, values) in blocks.items():
        if not steps:
            continue
        if not ordered and not in_order(steps, timestamps):  # blocks are kept in order
            steps, timestamps, values = map(list, zip(*sorted(
                zip(steps, timestamps, values, strict=True), key=_step_and_time), strict=True))
        rows += [summary_id, steps[0], steps[-1], len(steps), pack(steps, timestamps, values)]
    for start in range(0, len(rows), 5 * _BLOCKS_PER_INSERT):
        chunk = rows[start:start + 5 * _BLOCKS_PER_INSERT]
        values_sql = ", ".join(["(%s, %s, %s, %s, %s)"] * (len(chunk) // 5))
        hot_sql.execute(f"INSERT INTO {BLOCK_TABLE} (summary_id, first_step, last_step, count, "
                        f"data) VALUES {values_sql}", chunk)


# A batch of 10,000 points may touch 10,000 series: its blocks go in statements of at most
# this many rows, within every database's limit on parameters per statement.
_BLOCKS_PER_INSERT = 1000


def in_order(steps: list[int], timestamps: list[int]) -> bool:
    """Whether the points rise strictly by (step, timestamp)."""
    if all(map(lt, steps, islice(steps, 1, None))):  # rising steps, checked at C speed
        return True
    return all(a < b or (a == b and ta < tb) for a, b, ta, tb in
               zip(steps, islice(steps, 1, None), timestamps, islice(timestamps, 1, None),
                   strict=False))


Point = tuple[int, int, float]  # (step, timestamp, value)


def series_points(summary_ids: Iterable[int], *, steps: tuple[int, int] | None = None,
                  ) -> dict[int, list[Point]]:
    """The points of each series as (step, timestamp, value), in step then time order.

    `steps` = (first, last) keeps the points of that step range (both included).
    Series without points are left out.
    """
    return _assemble(_blocks(summary_ids, steps), steps)


def _blocks(summary_ids: Iterable[int], steps: tuple[int, int] | None = None) -> list:
    """(summary id, data) of the series' blocks (those of a step range), in series then step
    order."""
    ids = list(summary_ids)
    if not ids:
        return []
    where, where_params = hot_sql.any_of("summary_id", ids, "bigint")
    if steps is not None:
        where += " AND last_step >= %s AND first_step <= %s"
        where_params += [steps[0], steps[1]]
    return hot_sql.fetch_all(f"SELECT summary_id, data FROM {BLOCK_TABLE} WHERE {where} "
                             "ORDER BY summary_id, first_step, id", where_params)


def _assemble(rows, steps: tuple[int, int] | None) -> dict[int, list[Point]]:
    found: dict[int, list[Point]] = defaultdict(list)
    for summary_id, data in rows:
        points = found[summary_id]
        if len(data) == _ONE_POINT.size:  # a point logged on its own (log_metric per step)
            block = [_ONE_POINT.unpack(data)]
        else:
            block = list(zip(*unpack(data), strict=True))
        if steps is not None:
            first, last = steps
            block = [p for p in block if first <= p[0] <= last]
        if block and points and _step_and_time(points[-1]) > _step_and_time(block[0]):
            points.extend(block)  # blocks overlap (points logged out of order): sort them
            points.sort(key=_step_and_time)
        else:
            points.extend(block)  # each block is in order; so are blocks that follow on
    return {summary_id: points for summary_id, points in found.items() if points}


def series_columns(summary_ids: Iterable[int]) -> dict[int, tuple[array, array, array]]:
    """The points of each series as three columns (steps, timestamps, values), in step then
    time order: what `series_points` answers, without a tuple per point, so a series of a
    million points is read in a few block copies. Series without points are left out."""
    found: dict[int, tuple[array, array, array]] = {}
    overlapping = set()
    for summary_id, data in _blocks(summary_ids):
        steps, timestamps, values = unpack(data)
        columns = found.get(summary_id)
        if columns is None:
            found[summary_id] = (steps, timestamps, values)
            continue
        if (columns[0][-1], columns[1][-1]) > (steps[0], timestamps[0]):
            overlapping.add(summary_id)  # points logged out of order: sorted below
        for column, more in zip(columns, (steps, timestamps, values), strict=True):
            column.extend(more)
    for summary_id in overlapping:
        ordered = sorted(zip(*found[summary_id], strict=True), key=_step_and_time)
        found[summary_id] = (array("q", (p[0] for p in ordered)),
                             array("q", (p[1] for p in ordered)),
                             array("d", (p[2] for p in ordered)))
    return found


def _step_and_time(point: Point) -> tuple[int, int]:
    return point[0], point[1]


def step_values(summary_id: int, steps: tuple[int, int] | None = None) -> dict[int, float]:
    """The value at each step of a series (the latest point at a step wins)."""
    return {step: value for step, _, value in series_points([summary_id], steps=steps)
            .get(summary_id, [])}


def values_at(summary_ids: Iterable[int], step: int) -> dict[int, float]:
    """Each series' value at one step (the latest point there); series without one are left out."""
    found = series_points(summary_ids, steps=(step, step))
    return {summary_id: points[-1][2] for summary_id, points in found.items() if points}


def stored_keys(summary_ids: Iterable[int], steps: tuple[int, int]) -> set[tuple[int, int, int]]:
    """(summary id, step, timestamp) of the stored points in a step range: a batch's replays."""
    return {(summary_id, step, ts)
            for summary_id, points in series_points(summary_ids, steps=steps).items()
            for step, ts, _ in points}
