"""A fixed source port cannot open a second connection to the same destination while one is open."""

from __future__ import annotations

from des_scripts import once, run, scenario


def test_fixed_port_reused_while_open_is_a_local_error_not_a_crash() -> None:
    # one pod ticking every 1 s, each connection held 2.5 s: ticks that find the 4-tuple still
    # open fail locally (EADDRINUSE); after a FIN close the port is reusable at once (SO_REUSEADDR)
    ticker = once("fixed", 1, source_port=40000, hold_s=2.5, period_s=1.0)
    result, _ = run(scenario(ticker, kernel="6.18", cpus=1, duration_s=10.0))
    s = result.summary()
    c = s["connections"]
    assert c["local_errors"] > 0 and c["established"] > 0
    assert c["attempted"] == sum(
        c[k] for k in ("established", "failed", "app_timeouts", "local_errors", "in_flight")
    )
    # the old conntrack entry (TIME_WAIT) is re-opened by the new SYN: no clash
    assert s["conntrack"]["insert_failed"] == 0
    frame = result.to_frame()
    assert set(frame[frame.outcome == "established"].nat_port) == {40000}
    assert set(frame[frame.outcome == "local_error"].nat_port.dropna()) == set()
