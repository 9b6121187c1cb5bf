import pytest

from bench.history_bench import fit, markdown, slopes

pytestmark = pytest.mark.unit


def test_fit_recovers_a_line_and_scores_scatter():
    # y = 2 + 0.5 x exactly: slope 0.5, intercept 2, R^2 1.
    assert fit([1, 2, 3, 4], [2.5, 3.0, 3.5, 4.0]) == {"slope": 0.5, "intercept": 2.0, "r2": 1.0}
    # y = 1, 3, 2 over x = 0, 1, 2: mean x 1, mean y 2, sxy = (-1)(-1) + 0 + (1)(0) = 1, sxx = 2,
    # slope 0.5, intercept 1.5; residuals -0.5, 1, -0.5 -> ss_res 1.5, ss_tot 2, R^2 0.25.
    assert fit([0, 1, 2], [1.0, 3.0, 2.0]) == {"slope": 0.5, "intercept": 1.5, "r2": 0.25}
    assert fit([1], [3.0])["slope"] is None


def test_slopes_leave_the_first_date_out_and_total_each_date():
    records = [
        {"step": step, "date": day, "cpu_seconds": cpu}
        for day, costs in {
            "2026-01-01": {"a": 9.0, "b": 1.0},  # the first date creates tables: not fitted
            "2026-01-02": {"a": 2.0, "b": 1.0},
            "2026-01-03": {"a": 3.0, "b": 1.0},
            "2026-01-04": {"a": 4.0, "b": 1.0},
        }.items()
        for step, cpu in costs.items()
    ]
    fitted = slopes(records)
    assert fitted["a"]["cpu_seconds"] == [9.0, 2.0, 3.0, 4.0]
    assert fitted["a"]["slope"] == 1.0 and fitted["a"]["r2"] == 1.0
    assert fitted["b"]["slope"] == 0.0 and fitted["b"]["r2"] is None  # flat: nothing to explain
    assert fitted["total"]["cpu_seconds"] == [10.0, 3.0, 4.0, 5.0]
    assert fitted["total"]["slope"] == 1.0
    table = markdown(
        {
            "at": "now",
            "scale": 1,
            "days": 4,
            "seed": 1,
            "steps": ["a"],
            "cpus": 2,
            "load_average_end": [1.0, 1.0, 1.0],
            "runs": {"after": {"commit": "abc", "slopes": fitted}},
        }
    )
    assert "| a | +1.000, 1.00, 4.50 |" in table
