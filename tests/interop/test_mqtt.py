"""MQTT 3.1.1 over our sockets against mosquitto, as esp-mqtt would do it: our
minimal client (mqtt.c) on the stack, in clear (1883) and over mbedTLS with
certificate verification (8883); mosquitto_sub/mosquitto_pub in the peer see
and send the messages. One test keeps a TLS connection alive for 60 s."""
from __future__ import annotations

import hashlib
import os
import re
import time

import pytest

from interop_helpers import PEER_NAME, App, Mosquitto, MosquittoSub, mosquitto_pub

BIG = 20000     # > 16383: a 3-byte Remaining Length on the way out
BIG_IN = 30000  # and on the way in


def big_payload(n: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[i % 36] for i in range(n))


@pytest.fixture
def broker(request, bed, pki):
    m = Mosquitto(bed, pki)
    request.node._esst_logs.append(("mosquitto log", m.log))
    yield m
    m.stop()


def mqtt_app(bed, pki, track, need_app, tls: bool, args) -> App:
    need_app("mqtt_app")
    extra = ["--ca", pki.path("ca.pem"), "--hostname", PEER_NAME] if tls else []
    return track(App(bed, "mqtt_app", ["--broker", bed.peer_ip, *extra, *args]))


@pytest.mark.parametrize("tls", [False, True], ids=["clear", "tls"])
def test_mqtt_exchange_with_mosquitto(bed, pki, broker, track, need_app, tls):
    cid = f"esst-dut-{'tls' if tls else 'clear'}"
    sub = MosquittoSub(bed, "esst/out", count=4, timeout_s=60)
    app = mqtt_app(bed, pki, track, need_app, tls,
                   ["--id", cid, "--keepalive", "10", "--sub", "esst/in", "--pub", "esst/out",
                    "--big", str(BIG), "--expect", "3", "--duration", "0"])
    app.wait_ip(20)
    app.wait_line(r"^mqtt: subscribed esst/in granted 1$", 20)
    # What the app publishes reaches a subscriber in the peer; QoS 1 got its PUBACK.
    app.wait_line(r"^mqtt: puback qos1$", 10)
    app.wait_line(rf"^mqtt: puback big {BIG}$", 10)
    # What the peer publishes reaches the app's subscription (QoS 1 and 0, and a large one).
    mosquitto_pub(bed, "esst/in", 1, "from peer qos1")
    mosquitto_pub(bed, "esst/in", 0, "from peer qos0")
    big_path = os.path.join(bed.workdir, "big.txt")
    with open(big_path, "w") as f:
        f.write(big_payload(BIG_IN))
    mosquitto_pub(bed, "esst/in", 1, file=big_path)
    assert app.wait_exit(60) == 0, app.output()
    assert sub.wait(30) == 0, sub.text()

    out = "\n".join(app.stdout)
    assert re.search(r"^mqtt: recv topic=esst/in qos=1 len=14 .* payload=from peer qos1$", out, re.M), out
    assert re.search(r"^mqtt: recv topic=esst/in qos=0 len=14 .* payload=from peer qos0$", out, re.M), out
    h = hashlib.sha256(big_payload(BIG_IN).encode()).hexdigest()
    assert re.search(rf"^mqtt: recv topic=esst/in qos=1 len={BIG_IN} sha256={h}$", out, re.M), out
    assert re.search(r"^mqtt: done pings=\d+ pingresps=\d+ received=3 pubacks=3$", out, re.M), out

    msgs = sub.messages()
    assert [(q, t, p if len(p) < 64 else len(p)) for q, t, p in msgs[:2]] == \
        [(0, "esst/out", "hello qos0"), (1, "esst/out", "hello qos1")], sub.text()
    assert msgs[2] == (1, "esst/out", big_payload(BIG))
    assert re.fullmatch(r"bye after \d+ s", msgs[3][2]) and msgs[3][0] == 1
    # The DISCONNECT the app sent just before it exited reached the broker (a clean end, no timeout).
    log = broker.wait_log(f"Received DISCONNECT from {cid}")
    assert f"New client connected from 198.18.0.2" in log and f"as {cid}" in log, log[-3000:]


@pytest.mark.minute
def test_mqtt_tls_keepalive_for_a_minute(bed, pki, broker, track, need_app):
    """keepalive 4 s for 60 s over TLS: mosquitto drops a client silent for 1.5 x
    keepalive, so the connection lives only if PINGREQ/PINGRESP flow. A message
    from the peer half-way and the app's "bye" at the end cross the same connection."""
    sub = MosquittoSub(bed, "esst/out", count=3, timeout_s=120)
    app = mqtt_app(bed, pki, track, need_app, True,
                   ["--id", "esst-dut-ka", "--keepalive", "4", "--sub", "esst/in", "--pub", "esst/out",
                    "--expect", "1", "--duration", "60"])
    app.wait_ip(20)
    app.wait_line(r"^mqtt: subscribed esst/in granted 1$", 20)
    mark = app.mark()
    time.sleep(30)
    assert app.proc.poll() is None, app.output()
    mosquitto_pub(bed, "esst/in", 1, "half-way")
    app.wait_line(r"payload=half-way$", 10, start=mark)
    assert app.wait_exit(60) == 0, app.output()
    assert sub.wait(30) == 0, sub.text()
    m = re.search(r"^mqtt: done pings=(\d+) pingresps=(\d+) received=1 pubacks=2$", "\n".join(app.stdout), re.M)
    assert m, app.output()
    pings, resps = int(m.group(1)), int(m.group(2))
    # Ping every 2 s of silence over 60 s: about 29 (fewer when the data exchange replaced one).
    assert 25 <= pings <= 31 and resps in (pings, pings - 1), (pings, resps)
    bye = sub.messages()[-1]
    secs = int(re.fullmatch(r"bye after (\d+) s", bye[2]).group(1))
    assert secs >= 60
    log = broker.wait_log("Received DISCONNECT from esst-dut-ka")
    assert "exceeded timeout" not in log, log[-3000:]
    print(f"keepalive: {pings} PINGREQ, {resps} PINGRESP over {secs} s")


@pytest.mark.parametrize("tls", [False, True], ids=["clear", "tls"])
def test_mqtt_broker_dies_mid_session(bed, pki, broker, track, need_app, tls):
    """The broker is killed while the app waits in select(): the peer kernel closes the
    connection, and the app reports it and exits at once (no hang until a keepalive)."""
    app = mqtt_app(bed, pki, track, need_app, tls,
                   ["--id", "esst-dut-die", "--keepalive", "30", "--sub", "esst/in", "--pub", "esst/out",
                    "--duration", "40"])
    app.wait_ip(20)
    app.wait_line(r"^mqtt: puback qos1$", 20)
    broker.proc.kill()
    t0 = time.monotonic()
    assert app.wait_exit(15) == 5, app.output()
    assert time.monotonic() - t0 < 5
    app.wait_line(r"^mqtt: error: (TLS read: )?closed by broker", 1)


def test_mqtt_connect_refused(bed, pki, track, need_app):
    """Nothing listens on 1883: the blocking connect() fails with ECONNREFUSED (the peer's RST)."""
    app = mqtt_app(bed, pki, track, need_app, False, ["--sub", "a", "--pub", "b"])
    assert app.wait_exit(20) == 4, app.output()
    app.wait_line(r"^mqtt: error: connect 198\.18\.0\.1:1883: Connection refused$", 1)
