from __future__ import annotations

import threading
from collections import Counter

import pytest

from include.ferrero.db.tracking import TrackingDb, TrackingIdExhaustedError
from include.ferrero.tracking_ids import CROCKFORD_ALPHABET, is_tracking_id, new_tracking_id


def test_format() -> None:
    ids = [new_tracking_id() for _ in range(5000)]
    assert all(len(i) == 6 and is_tracking_id(i) for i in ids)
    assert not set("ILOU") & set("".join(ids))
    # every symbol of the alphabet shows up: the draw is not biased to a subset
    assert set("".join(ids)) == set(CROCKFORD_ALPHABET)


@pytest.mark.parametrize("bad", ["K7M2Q", "K7M2QXX", "K7M2QI", "k7m2qx", "K7M2QU", ""])
def test_is_tracking_id_rejects(bad: str) -> None:
    assert not is_tracking_id(bad)


def _campaign(db: TrackingDb) -> None:
    db.upsert_campaign("CAMPAIGN-1", "Summer Crunch", "CMP-2026-001", "A1")


def test_same_master_keeps_its_id(tracking_db: TrackingDb) -> None:
    _campaign(tracking_db)
    first = tracking_db.get_or_create_tracking_id("asset-1", "CAMPAIGN-1", "spot.mp4")
    again = tracking_db.get_or_create_tracking_id("asset-1", "CAMPAIGN-1", "spot.mp4")
    other = tracking_db.get_or_create_tracking_id("asset-2", "CAMPAIGN-1", "key-visual.png")
    assert first == again != other
    assert tracking_db.get_master(first)["dam_asset_id"] == "asset-1"


def test_collision_is_retried(tracking_dsn: str) -> None:
    draws = iter(["AAAAAA", "AAAAAA", "BBBBBB"])
    db = TrackingDb.from_dsn(tracking_dsn)
    _campaign(db)
    db._new_id = lambda: next(draws)
    assert db.get_or_create_tracking_id("asset-1", "CAMPAIGN-1", "a.mp4") == "AAAAAA"
    assert db.get_or_create_tracking_id("asset-2", "CAMPAIGN-1", "b.mp4") == "BBBBBB"
    db.close()


def test_exhausted_draws_fail_clearly(tracking_dsn: str) -> None:
    db = TrackingDb(TrackingDb.from_dsn(tracking_dsn)._connect, new_id=lambda: "AAAAAA")
    _campaign(db)
    db.get_or_create_tracking_id("asset-1", "CAMPAIGN-1", "a.mp4")
    with pytest.raises(TrackingIdExhaustedError, match="DAM asset asset-2"):
        db.get_or_create_tracking_id("asset-2", "CAMPAIGN-1", "b.mp4")
    db.close()


def test_database_refuses_malformed_ids(tracking_dsn: str) -> None:
    db = TrackingDb(TrackingDb.from_dsn(tracking_dsn)._connect, new_id=lambda: "ILLEGL")
    _campaign(db)
    with pytest.raises(Exception, match="tracking_id_check"):
        db.get_or_create_tracking_id("asset-1", "CAMPAIGN-1", "a.mp4")
    db.close()


def test_unique_under_concurrent_inserts(tracking_dsn: str) -> None:
    """8 threads, each with its own connection: 8 x 40 different masters plus every thread racing for the
    same 10 shared masters. Every master ends with exactly one ID, and no ID is shared."""
    setup = TrackingDb.from_dsn(tracking_dsn)
    _campaign(setup)
    results: list[tuple[str, str]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        db = TrackingDb.from_dsn(tracking_dsn)
        try:
            for i in range(40):
                for asset in (f"own-{n}-{i}", f"shared-{i % 10}"):
                    tid = db.get_or_create_tracking_id(asset, "CAMPAIGN-1", f"{asset}.mp4")
                    with lock:
                        results.append((asset, tid))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    by_asset: dict[str, set[str]] = {}
    for asset, tid in results:
        by_asset.setdefault(asset, set()).add(tid)
    assert all(len(ids) == 1 for ids in by_asset.values())
    assert len(by_asset) == 8 * 40 + 10
    with setup.transaction() as cur:
        cur.execute("SELECT tracking_id, count(*) AS n FROM master_assets GROUP BY tracking_id")
        counts = Counter({row["tracking_id"]: row["n"] for row in cur.fetchall()})
    assert len(counts) == 8 * 40 + 10 and max(counts.values()) == 1
    setup.close()
