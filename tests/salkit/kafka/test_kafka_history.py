"""Start offsets and history collection (pure logic), including tansu's
under-reported high watermark."""

from __future__ import annotations

from lsst.ts.salkit.kafka.history import OFFSET_BEGINNING, plan_resume, plan_start

NOW_MS = 1_700_000_000_000


def test_empty_topic_starts_at_beginning_without_history() -> None:
    state = plan_start(0, 0, 1, NOW_MS)
    assert state.start_offset == OFFSET_BEGINNING
    assert not state.in_history
    # Anything that arrives is new, whatever its timestamp.
    assert state.on_message(0, NOW_MS - 5, b"k", "a", 1) == ([], ["a"])


def test_topic_without_history_starts_at_high_watermark_and_skips_stale_batch_tail() -> None:
    state = plan_start(0, 21, 0, NOW_MS)
    assert state.start_offset == 21 and not state.in_history
    # tansu said 21 but offsets 21..29 were written (one batch) before we subscribed.
    assert state.on_message(21, NOW_MS - 3, b"k", "old21", 30) == ([], [])
    assert state.on_message(29, NOW_MS - 1, b"k", "old29", 30) == ([], [])
    assert state.on_message(30, NOW_MS + 2, b"k", "new", 31) == ([], ["new"])
    # Once new data has arrived, nothing is filtered by time any more.
    assert state.on_message(31, NOW_MS - 100, b"k", "skewed", 32) == ([], ["skewed"])
    assert state.stale_skipped == 2


def test_non_indexed_history_delivers_only_the_last_message() -> None:
    state = plan_start(0, 10, 1, NOW_MS)
    assert state.start_offset == 9 and state.in_history
    history, live = state.on_message(9, NOW_MS - 1, b"key", "last", 10)
    assert (history, live) == (["last"], [])
    assert not state.in_history
    assert state.on_message(10, NOW_MS + 1, b"key", "next", 11) == ([], ["next"])


def test_history_continues_to_the_fetched_high_watermark_on_tansu() -> None:
    # ListOffsets said 21 (base of last batch + 1), the true end is 30.
    state = plan_start(0, 21, 1, NOW_MS)
    assert state.start_offset == 20
    for offset in range(20, 29):
        assert state.on_message(offset, NOW_MS - 1, b"key", f"v{offset}", 30) == ([], [])
    history, live = state.on_message(29, NOW_MS - 1, b"key", "v29", 30)
    assert history == ["v29"] and live == []


def test_indexed_history_keeps_latest_per_writer_in_write_order() -> None:
    state = plan_start(5, 100, 500, NOW_MS)
    assert state.start_offset == 5  # window reaches back past the low watermark
    items = [(95, b"i1", "i1-a"), (96, b"i2", "i2-a"), (97, b"i1", "i1-b"), (98, b"i3", "i3-a")]
    for offset, key, item in items:
        assert state.on_message(offset, None, key, item, 100) == ([], [])
    history, _ = state.on_message(99, None, b"i2", "i2-b", 100)
    assert history == ["i1-b", "i3-a", "i2-b"]


def test_history_window_start_is_depth_back_from_high() -> None:
    assert plan_start(0, 1000, 500, NOW_MS).start_offset == 500


def test_resume_after_rebalance_continues_where_reading_stopped() -> None:
    assert plan_resume(42, 0, 100, NOW_MS).start_offset == 42
    fresh = plan_resume(None, 0, 100, NOW_MS)
    assert fresh.start_offset == 100 and not fresh.in_history
