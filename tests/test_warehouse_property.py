"""Property: whatever order nights are loaded and re-loaded in, core holds exactly one row per
doc_id, namely the latest (fetched_at, night) version that staging.documents also picks, with that
version's mentions; and loading the same night again changes nothing."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_warehouse_load import doc, make_night, mention

from warehouse import db
from warehouse.load import load_night

NIGHTS = [date(2026, 11, 3) + timedelta(days=i) for i in range(3)]
DOC_IDS = ["t3_a", "t3_b", "t3_c", "t1_d"]

# Per night: which docs it fetched and at which hour (hours may tie across nights on purpose).
night_batch = st.dictionaries(st.sampled_from(DOC_IDS), st.integers(0, 2), min_size=1, max_size=4)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(night_batch, min_size=3, max_size=3),
    order=st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=5),
)
def test_core_matches_latest_version_in_any_load_order(
    batches: list[dict[str, int]], order: list[int]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        ctxs = []
        for i, batch in enumerate(batches):
            fetched = "2026-11-05T{:02d}:00:00Z"  # same fetch clock for all nights: ties are common
            docs = [doc(d, "2026-11-02T10:00:00Z", fetched.format(h), score=i) for d, h in batch.items()]
            ments = [mention(d, "platform/whatnot", 10 * i) for d in batch]
            ctxs.append(make_night(data, NIGHTS[i], docs, ments))
        for i in order:
            load_night(ctxs[i])
        con = db.connect(ctxs[0].settings.warehouse_path)
        try:
            assert set(db.key_violations(con).values()) == {0}
            core = con.execute(
                "SELECT doc_id, fetched_at, night FROM core.documents ORDER BY doc_id"
            ).fetchall()
            loaded = set(order)
            expected = {}
            for i in sorted(loaded):  # the winner: max (fetch hour, night)
                for d, h in batches[i].items():
                    if d not in expected or (h, i) > expected[d]:
                        expected[d] = (h, i)
            assert [(d, n) for d, _, n in core] == [(d, NIGHTS[expected[d][1]]) for d in sorted(expected)]
            staged = con.execute(
                "SELECT doc_id, fetched_at, night FROM staging.documents ORDER BY doc_id"
            ).fetchall()
            assert staged == core
            # each doc's mentions are those of its winning version (start_char = 10 * night index)
            ments = con.execute("SELECT doc_id, start_char FROM core.mentions ORDER BY doc_id").fetchall()
            assert ments == [(d, 10 * expected[d][1]) for d in sorted(expected)]
            before = con.execute("SELECT count(*) FROM core.mentions").fetchone()[0]
            load_night(ctxs[order[-1]], con=con)
            assert con.execute("SELECT count(*) FROM core.mentions").fetchone()[0] == before
        finally:
            con.close()
