"""The event bus: the engine's one way to tell records, LEDs, console and web what happened."""

from centralino.eventbus import EventBus


def test_exact_family_and_all_subscriptions_each_get_their_kinds():
    bus = EventBus(clock=lambda: 12.5)
    exact, family, everything = [], [], []
    bus.subscribe("call.ended", exact.append)
    bus.subscribe("call.*", family.append)
    bus.subscribe("*", everything.append)
    bus.publish("call.started", call_id="a")
    bus.publish("call.ended", call_id="a", disposition="answered")
    bus.publish("port.faulty", port="fxs3", reason="SPI")
    assert [e.kind for e in exact] == ["call.ended"]
    assert [e.kind for e in family] == ["call.started", "call.ended"]
    assert [e.kind for e in everything] == ["call.started", "call.ended", "port.faulty"]
    assert exact[0]["disposition"] == "answered" and exact[0].at_s == 12.5
    assert everything[2].as_dict() == {"event": "port.faulty", "at_s": 12.5, "port": "fxs3", "reason": "SPI"}


def test_a_failing_handler_costs_only_itself_and_is_reported_once(caplog):
    bus = EventBus(clock=lambda: 0.0)
    got = []

    def broken(event):
        raise OSError("disk full")

    bus.subscribe("call.ended", broken)
    bus.subscribe("call.ended", got.append)
    for _ in range(3):
        bus.publish("call.ended", call_id="x")
    assert len(got) == 3
    assert bus.handler_errors == 3
    assert sum("failed on call.ended" in r.getMessage() for r in caplog.records) == 1


def test_unsubscribe_stops_delivery():
    bus = EventBus(clock=lambda: 0.0)
    got = []
    stop = bus.subscribe("*", got.append)
    bus.publish("a.b")
    stop()
    bus.publish("a.c")
    assert [e.kind for e in got] == ["a.b"]
