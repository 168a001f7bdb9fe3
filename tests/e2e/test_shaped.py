"""Download over a real 100 Mbit/s wire (tbf on both veth ends). The rate is printed,
not asserted: speed belongs to the benchmarks."""
from e2e_helpers import curl_download, pattern_sha256


def test_shaped_20mb_download(shaped_bed, start_demo):
    d = start_demo(shaped_bed)
    mark = d.mark()
    n = 20_000_000
    res = curl_download(shaped_bed, n, timeout=60)
    assert res["code"] == 200 and res["size"] == n
    assert res["sha256"] == pattern_sha256(n)
    m = d.wait_line(rf"^dl: {n} bytes in (\d+) us = ([\d.]+) Mbit/s", 5, start=mark)
    print(f"shaped 100 Mbit/s wire: curl {res['mbit_s']:.2f} Mbit/s, demo {m.group(2)} Mbit/s "
          f"(TCP payload ceiling 94.93)")
