from agentloupe.view.leaks import fit_slope


def test_fit_slope_and_spread():
    slope, stderr = fit_slope([0, 10, 20, 30, 40])
    assert slope == 10 and stderr == 0
    slope, stderr = fit_slope([0, 12, 18, 31, 39])
    assert 9 < slope < 11 and stderr > 0
