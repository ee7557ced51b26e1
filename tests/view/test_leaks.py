from agentloupe.view.leaks import fit_slope


def test_fit_slope_and_spread():
    slope, stderr = fit_slope([0, 10, 20, 30, 40])
    assert slope == 10 and stderr == 0
    slope, stderr = fit_slope([0, 12, 18, 31, 39])
    assert 9 < slope < 11 and stderr > 0


def test_the_verdict_says_growing_flat_or_too_noisy_with_the_numbers():
    from agentloupe.view.leaks import LeakReport

    growing = LeakReport("svc", 9, 2 * 1024 * 1024, 10 * 1024, warmup_left_out=True)
    assert growing.verdict.startswith("growing: at least 2,018.0 KiB per run")
    assert "run 1 left out as warm-up" in growing.render() and growing.render().endswith(growing.verdict)
    assert LeakReport("svc", 9, 1024, 512).verdict.startswith("flat: under 16 KiB per run")
    assert LeakReport("svc", 9, 40 * 1024, 30 * 1024).verdict.startswith("too noisy to tell: somewhere between -50.0 and +130.0")
    assert LeakReport("svc", 2, 1024, 0).verdict.startswith("too few runs")
