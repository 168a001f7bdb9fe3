"""Plot bench/out/results.json into a PNG (matplotlib): throughput on the 100 Mbit/s wire
(with delay), unshaped throughput, instructions per byte, latency. Usage: plot.py JSON PNG"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

res = json.load(open(sys.argv[1]))
stacks = res["meta"]["stacks"]
label = {"smoltcp": "esp_smoltcp", "lwip": "lwIP 2.1.3", "kernel": "Linux"}
color = {"smoltcp": "#d95f02", "lwip": "#1b9e77", "kernel": "#7570b3"}
fig, ax = plt.subplots(2, 2, figsize=(13, 8.5))
w = 0.8 / max(1, len(stacks))


def bars(a, groups, values, title, ylabel, ref=None):
    for i, s in enumerate(stacks):
        xs = [g + (i - (len(stacks) - 1) / 2) * w for g in range(len(groups))]
        ys = [values.get(s, {}).get(gn) or 0 for gn in groups]
        a.bar(xs, ys, w, label=label[s], color=color[s])
        for x, y in zip(xs, ys):
            if y:
                a.text(x, y, f"{y:.3g}", ha="center", va="bottom", fontsize=7)
    a.set_xticks(range(len(groups)))
    a.set_xticklabels(groups, fontsize=8)
    a.set_title(title, fontsize=10)
    a.set_ylabel(ylabel)
    if ref:
        a.axhline(ref, color="grey", ls="--", lw=0.8)
    a.legend(fontsize=8)


tp = {s: {} for s in stacks}
sh = res.get("shaped", {})
for s in stacks:
    if s in sh:
        tp[s]["dl"] = sh[s].get("dl_mbps")
        tp[s]["ul"] = sh[s].get("ul_mbps")
for d, dd in sorted(((k, v) for k, v in res.get("delay", {}).items() if k.isdigit()), key=lambda kv: int(kv[0])):
    for s in stacks:
        if s in dd:
            tp[s][f"dl +{int(d)//1000}ms"] = dd[s].get("dl_mbps")
            tp[s][f"ul +{int(d)//1000}ms"] = dd[s].get("ul_mbps")
groups = list(next((v for v in tp.values() if v), {}).keys())
bars(ax[0][0], groups, tp, "TCP over the 100 Mbit/s wire (ceiling 94.93)", "Mbit/s", 94.93)

un = res.get("unshaped", {})
ut = {s: {"dl": un.get(s, {}).get("dl_mbps"), "ul": un.get(s, {}).get("ul_mbps")} for s in stacks}
bars(ax[0][1], ["dl", "ul"], ut, "Unshaped TAP throughput", "Mbit/s")
ax[0][1].set_yscale("log")

cg = res.get("callgrind", {}).get("rows", {})
names, tx, rx = [], [], []
for k, row in cg.items():
    parts = k.split(":")
    names.append(("ours " if parts[0] == "smoltcp" else "lwIP ") + parts[1].replace("-", " / -")
                 + ("\n160 sockets" if len(parts) > 2 else ""))
    tx.append(row.get("tx", {}).get("per_unit_stack") or 0)
    rx.append(row.get("rx", {}).get("per_unit_stack") or 0)
a = ax[1][0]
xs = range(len(names))
a.bar([x - 0.2 for x in xs], tx, 0.4, label="TX (download)", color="#e6ab02")
a.bar([x + 0.2 for x in xs], rx, 0.4, label="RX (upload)", color="#66a61e")
for x, y in zip(xs, tx):
    a.text(x - 0.2, y, f"{y:.2f}", ha="center", va="bottom", fontsize=7)
for x, y in zip(xs, rx):
    a.text(x + 0.2, y, f"{y:.2f}", ha="center", va="bottom", fontsize=7)
a.set_xticks(list(xs))
a.set_xticklabels(names, fontsize=6)
a.set_title("callgrind: stack instructions per payload byte", fontsize=10)
a.set_ylabel("Ir / byte")
a.legend(fontsize=8)

lat = {s: {"ICMP median": un.get(s, {}).get("ping", {}).get("median_us"),
           "ICMP p99": un.get(s, {}).get("ping", {}).get("p99_us"),
           "TCP RR median": un.get(s, {}).get("rr", {}).get("median_us"),
           "TCP RR p99": un.get(s, {}).get("rr", {}).get("p99_us")} for s in stacks}
bars(ax[1][1], ["ICMP median", "ICMP p99", "TCP RR median", "TCP RR p99"], lat, "Latency (unshaped)", "µs")
ax[1][1].set_yscale("log")
fig.suptitle(f"esp_smoltcp vs lwIP vs Linux — {res['meta']['profile']} run {res['meta']['date']}", fontsize=11)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
