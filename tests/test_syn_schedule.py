"""TCP SYN retransmission schedule (spec §2.4, §9, §16.7) and conntrack timeouts (spec §10)."""

from __future__ import annotations

import math

import pytest

from snatsim.errors import ConfigError
from snatsim.kernel.eras import SynEra
from snatsim.kernel.tcp import syn_schedule
from snatsim.kernel.timeouts import TcpTimeouts, UdpTimeouts


@pytest.mark.parametrize(
    ("era", "sends", "give_up"),
    [
        (SynEra.T0, (0, 3, 9, 21, 45, 93), 189),
        (SynEra.T0p, (0, 1, 3, 7, 15, 31), 63),
        (SynEra.T1, (0, 1, 3, 7, 15, 31, 63), 127),
        (SynEra.T2, (0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67), 131),
    ],
)
def test_default_schedule_per_era(era: SynEra, sends: tuple[int, ...], give_up: int) -> None:
    """The send times and give-up times of spec §2.4, exactly."""
    s = syn_schedule(era)
    assert s.send_times_s == tuple(float(t) for t in sends)
    assert s.give_up_s == give_up
    assert s.retransmits == len(sends) - 1


def test_connect_latency_table_of_spec_9() -> None:
    """Spec §9: connect() delay when the first k SYNs are lost (RTT excluded)."""
    t1, t2 = syn_schedule(SynEra.T1), syn_schedule(SynEra.T2)
    assert [t1.latency_after_losses_s(k) for k in range(8)] == [0, 1, 3, 7, 15, 31, 63, None]
    t2_expected = [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67, None]
    assert [t2.latency_after_losses_s(k) for k in range(12)] == t2_expected
    with pytest.raises(ValueError):
        t1.latency_after_losses_s(-1)


def test_linear_timeouts_zero_restores_exponential_backoff() -> None:
    """Spec §16.7: tcp_syn_linear_timeouts=0 on 6.18 gives 1 s / 3 s / 7 s again."""
    s = syn_schedule(SynEra.T2, linear_timeouts=0)
    assert s == syn_schedule(SynEra.T1)
    assert s.send_times_s[1:4] == (1.0, 3.0, 7.0)


def test_rto_is_capped_at_rto_max() -> None:
    s = syn_schedule(SynEra.T1, syn_retries=9)
    assert s.send_times_s == (0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0, 127.0, 247.0, 367.0)
    assert s.give_up_s == 487
    s = syn_schedule(SynEra.T2, syn_retries=2, linear_timeouts=1, rto_init_s=0.2, rto_max_s=0.5)
    assert s.send_times_s == pytest.approx((0, 0.2, 0.4, 0.8))
    assert s.give_up_s == pytest.approx(1.3)


def test_custom_retries_and_rto() -> None:
    s = syn_schedule(SynEra.T2, syn_retries=1, linear_timeouts=2, rto_init_s=0.5)
    assert s.send_times_s == (0.0, 0.5, 1.0, 1.5)
    assert s.give_up_s == 2.5


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"syn_retries": -1}, "tcp.syn_retries"),
        ({"syn_retries": 0}, "tcp.syn_retries"),
        ({"syn_retries": 128}, "tcp.syn_retries"),
        ({"syn_retries": 10**9}, "tcp.syn_retries"),
        ({"syn_retries": True}, "tcp.syn_retries"),
        ({"syn_retries": 2.5}, "tcp.syn_retries"),
        ({"linear_timeouts": -1}, "tcp.syn_linear_timeouts"),
        ({"linear_timeouts": 128}, "tcp.syn_linear_timeouts"),
        ({"rto_init_s": 0.0}, "tcp.rto_init_s"),
        ({"rto_init_s": math.nan}, "tcp.rto_init_s"),
        ({"rto_init_s": 200.0}, "tcp.rto_init_s"),
        ({"rto_max_s": -1.0}, "tcp.rto_max_s"),
        ({"rto_max_s": math.inf}, "tcp.rto_max_s"),
    ],
)
def test_bad_values_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        syn_schedule(SynEra.T2, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_linear_timeouts_exist_only_on_t2() -> None:
    with pytest.raises(ConfigError, match=r"tcp\.syn_linear_timeouts"):
        syn_schedule(SynEra.T1, linear_timeouts=4)
    assert syn_schedule(SynEra.T1, linear_timeouts=0) == syn_schedule(SynEra.T1)


def test_conntrack_timeouts_of_spec_10() -> None:
    tcp, udp = TcpTimeouts(), UdpTimeouts()
    assert (tcp.syn_sent_s, tcp.syn_recv_s, tcp.established_s, tcp.fin_wait_s) == (
        120,
        60,
        432_000,
        120,
    )
    assert (tcp.close_wait_s, tcp.last_ack_s, tcp.time_wait_s, tcp.close_s) == (60, 30, 120, 10)
    assert (udp.unreplied_s, udp.stream_s, udp.nat_clash_s) == (30, 120, 1.0)
    assert UdpTimeouts(stream_s=180).stream_s == 180
    with pytest.raises(ConfigError, match=r"time_wait_s"):
        TcpTimeouts(time_wait_s=0)
    with pytest.raises(ConfigError, match=r"nat_clash_s"):
        UdpTimeouts(nat_clash_s=math.nan)
