"""The capex guidance reference table: it loads, passes its suite, and refuses bad rows."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.errors import GateFailed, ParseError
from pipeline.reference import (
    CAPEX_CSV,
    capex_as_of,
    check_capex,
    prepare_reference,
    read_capex_guidance,
)
from pipeline.schemas import SCHEMAS

HEADER = CAPEX_CSV.read_text().splitlines()[0]
GOOD = (
    "Alphabet,GOOGL,FY2026,180000000000,175000000000,185000000000,2026-02-04,"
    "How the Big Tech companies are spending,https://example.org/a,midpoint"
)


def write(tmp_path, *rows: str):
    path = tmp_path / "capex_guidance.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_the_repository_table_loads_and_passes_its_suite(universe):
    table = read_capex_guidance()
    assert set(table.columns) == set(SCHEMAS["capex_guidance"]) - {"as_of_date"}
    rows = {(r["company"], r["fiscal_period"]): r for r in table.to_dicts()}
    # 2026 guidance as publicly reported (sources in the file)
    assert rows[("Alphabet", "FY2026")]["capex_guidance_low_usd"] == 175e9
    assert rows[("Alphabet", "FY2026")]["capex_guidance_high_usd"] == 185e9
    assert rows[("Amazon", "FY2026")]["capex_guidance_usd"] == 200e9
    assert rows[("Meta", "FY2026")]["capex_guidance_usd"] == 125e9
    # Microsoft published no dollar figure: no number, and the note says so
    assert rows[("Microsoft", "FY2026")]["capex_guidance_usd"] is None
    assert "No dollar guidance" in rows[("Microsoft", "FY2026")]["note"]
    assert check_capex(universe) is None


def test_the_table_as_known_on_a_day():
    known = capex_as_of(read_capex_guidance(), date(2026, 2, 4))
    fy2026 = known.filter(known["fiscal_period"] == "FY2026")
    assert fy2026["company"].to_list() == ["Alphabet", "Meta", "Microsoft"]
    assert capex_as_of(read_capex_guidance(), date(2025, 1, 1)).height == 0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            GOOD.replace("180000000000", "about 180bn"),
            r"capex_guidance\.csv line 2 \(Alphabet FY2026\): capex_guidance_usd 'about 180bn' is not a number",
        ),
        (
            GOOD.replace("2026-02-04", "04/02/2026"),
            r"line 2 \(Alphabet FY2026\): announcement_date '04/02/2026' is not a date",
        ),
        (GOOD.replace(",FY2026,", ",2026,"), r"line 2 .*fiscal_period '2026' is not FYyyyy"),
        (GOOD.replace("180000000000,", ",", 1), r"line 2 .*a range without capex_guidance_usd"),
        (GOOD.replace("175000000000", "190000000000"), r"line 2 .*outside its low-high range"),
        (GOOD + ",extra", r"line 2 .*expected 10 fields"),
    ],
)
def test_a_malformed_row_fails_with_one_line_naming_it(tmp_path, row, message):
    path = write(tmp_path, GOOD.replace("Alphabet", "Meta"), row)
    message = message.replace("line 2", "line 3")
    with pytest.raises(ParseError, match=message) as err:
        read_capex_guidance(path)
    assert "\n" not in str(err.value)


def test_duplicate_company_period_fails_the_suite(tmp_path, universe):
    path = write(tmp_path, GOOD, GOOD.replace("2026-02-04", "2026-02-05"))
    failed = check_capex(universe, path, today=date(2026, 3, 1))
    assert isinstance(failed, GateFailed)
    assert "ExpectCompoundColumnsToBeUnique" in failed.message


def test_announcement_in_the_future_fails_the_suite(tmp_path, universe):
    path = write(tmp_path, GOOD.replace("2026-02-04", "2062-02-04"))
    failed = check_capex(universe, path, today=date(2026, 3, 1))
    assert isinstance(failed, GateFailed)
    assert "as_of_date vs announcement_date" in failed.message


def test_one_frame_per_day_as_known_that_day(ctx):
    days = [date(2026, 2, 3), date(2026, 2, 5)]
    parts, results = prepare_reference(ctx, days, today=date(2026, 3, 1))
    assert [p.height for p in parts["capex_guidance"]] == [5, 7]
    assert all(r.success for r in results)
    assert not ctx.lake.staged_days("capex_guidance")  # nothing written yet


def test_a_bad_reference_table_stops_stage_before_any_dataset_is_written(
    ctx, tmp_path, monkeypatch
):
    import pipeline.reference
    import pipeline.stages.stage as stage_module
    from pipeline.sources import REGISTRY
    from pipeline.stages.extract import extract

    day = date(2026, 2, 5)
    spot = [e for e in REGISTRY if e.dataset == "spot_prices"]
    monkeypatch.setattr(stage_module, "select_datasets", lambda names=None: spot)
    extract(ctx, [day], ["spot_prices"])
    bad = write(tmp_path, GOOD, GOOD.replace("2026-02-04", "2026-02-03"))  # duplicate period
    monkeypatch.setattr(pipeline.reference, "CAPEX_CSV", bad)
    with pytest.raises(GateFailed, match="capex_guidance"):
        stage_module.stage(ctx, [day])
    assert not ctx.lake.staged_days("spot_prices")  # gated, passed, but not written
    assert not ctx.lake.staged_days("capex_guidance")

    monkeypatch.setattr(pipeline.reference, "CAPEX_CSV", CAPEX_CSV)
    counts = stage_module.stage(ctx, [day])
    assert counts["capex_guidance"] == 7
    assert ctx.lake.staged_days("spot_prices") == [day]
