#!/usr/bin/env bash
# The performance goals, each with the figure of its bench from one run, as one table:
# runs bench/compare.sh, bench/event_cost.sh, bench/sustained_batches.sh and
# bench/seed_dataset.sh one after another, keeps their output under bench/out/goals/ and
# prints the table (markdown). --update-doc also writes it into docs/PERFORMANCE.md,
# between the markers "<!-- goals:begin -->" and "<!-- goals:end -->".
#
#   bench/goals.sh [--update-doc] [--reuse]     SKIP_SETUP=1
#     --reuse   no bench runs: the table from the outputs kept by the last run
#
# The knobs of the benches pass through (ROUNDS, SECONDS_PER_RUN, RATES, ...); by default
# sustained_batches.sh offers 40,000 to 100,000 events/s in steps of 20,000, 60 s each,
# and event_cost.sh measures both ingest engines (ENGINES=lua,module; the module's rows
# only when it ran).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
OUT="$BENCH_OUT/goals"
DOC="$BENCH_ROOT/docs/PERFORMANCE.md"
update_doc=0 reuse=0
for arg in "$@"; do
  case $arg in
    --update-doc) update_doc=1 ;;
    --reuse) reuse=1 ;;
    *) echo "usage: bench/goals.sh [--update-doc] [--reuse]" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"

if ((!reuse)); then
  [[ -n ${SKIP_SETUP:-} ]] || "$BENCH_ROOT/tools/dev.sh" setup >/dev/null
  export SKIP_SETUP=1
  echo "compare.sh ..." >&2
  "$BENCH_ROOT/bench/compare.sh" > "$OUT/compare.txt"
  echo "event_cost.sh ..." >&2
  ENGINES=${ENGINES:-lua,module} "$BENCH_ROOT/bench/event_cost.sh" > "$OUT/event_cost.txt"
  echo "sustained_batches.sh ..." >&2
  RATES=${RATES:-"40000 60000 80000 100000"} "$BENCH_ROOT/bench/sustained_batches.sh" > "$OUT/sustained.txt"
  echo "seed_dataset.sh ..." >&2
  "$BENCH_ROOT/bench/seed_dataset.sh" > "$OUT/seed.txt"
  date -u '+%Y-%m-%d' > "$OUT/date"
fi

/usr/bin/python3 - "$OUT" "$DOC" "$update_doc" <<'EOF'
import pathlib, re, sys

out, doc, update_doc = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3] == "1"
compare = (out / "compare.txt").read_text()
event_cost = (out / "event_cost.txt").read_text()
sustained = (out / "sustained.txt").read_text()
seed = (out / "seed.txt").read_text()

def find(pattern, text, what):
    m = re.search(pattern, text, re.M)
    if not m:
        sys.exit(f"goals.sh: no {what} in the bench output")
    return m

def met(ok):
    return "met" if ok else "**not met**"

rows = []
# CPU per event end to end.
for label, goal in (("single", 50), ("batch100", 20)):
    for engine in ("lua", "module"):
        pattern = rf"^{label}\s+{engine}\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+\d+\s+([\d.]+)x"
        if engine == "module" and not re.search(pattern, event_cost, re.M):
            continue  # event_cost.sh ran without ENGINES=lua,module
        rate, server, redis, pg, total, ratio = find(pattern, event_cost, f"{label} cost ({engine})").groups()
        name = "single" if label == "single" else "batched (100 a request)"
        if engine == "module":
            name += ", `--redis-ingest=module`"
        rows.append((f"CPU per event end to end, {name}", f"≤ {goal} µs",
                     f"{float(total):.1f} µs (server {float(server):.1f} + Redis {float(redis):.1f} + PostgreSQL {float(pg):.1f})",
                     f"{float(ratio):.2f}× the goal", met(float(total) <= goal), "`bench/event_cost.sh`"))
# Single events against the peer and nginx.
m = find(r"^server\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s*$", compare, "server ingestion line")
server_rate = int(m.group(1))
peer_rate = int(find(r"^peer\s+(\d+)", compare, "peer line").group(1))
nginx_rate = int(find(r"^nginx\s+(\d+)", compare, "nginx line").group(1))
to_peer, to_nginx = server_rate / peer_rate, server_rate / nginx_rate
rows.append(("single events against the Node peer", "≥ 2×", f"{server_rate:,} against {peer_rate:,} events/s",
             f"{to_peer:.2f}×", met(to_peer >= 2), "`bench/compare.sh`"))
rows.append(("single events against nginx's constant 202", "≥ 0.5×", f"{server_rate:,} against {nginx_rate:,} req/s",
             f"{to_nginx:.2f}×", met(to_nginx >= 0.5), "`bench/compare.sh`"))
# Sustained batches.
m = find(r"^highest flat rate: (\d+) events/s; goal (\d+): ([\d.]+)x", sustained, "sustained summary")
best, goal, ratio = int(m.group(1)), int(m.group(2)), float(m.group(3))
rows.append(("batched events sustained into PostgreSQL, backlog flat", f"≥ {goal:,}/s",
             f"{best:,} events/s (highest offered rate that stayed flat)", f"{ratio:.2f}×", met(best >= goal),
             "`bench/sustained_batches.sh`"))
# The data set.
m = find(r"^median ([\d.]+) s, slowest ([\d.]+) s; goal <= (\d+) s", seed, "seed summary")
median_s, slowest_s, goal_s = float(m.group(1)), float(m.group(2)), int(m.group(3))
rows.append(("the 2M-post data set from an empty database", f"≤ {goal_s} s every time",
             f"median {median_s:.1f} s, slowest {slowest_s:.1f} s", f"{slowest_s / goal_s:.2f}×",
             met(slowest_s <= goal_s), "`bench/seed_dataset.sh`"))
# Tails at 64 connections.
for answer in ("count", "top", "search"):
    m = find(rf"^\| {answer} \| (\d+) \| [\d.]+ \| ([\d.]+) \| \d+ \| ([\d.]+) \| [\d.]+ \| ([\d.]+) \|$", compare, f"{answer} tail")
    p99, nginx_p99, p99_ratio = float(m.group(2)), float(m.group(3)), float(m.group(4))
    rows.append((f"p99 at 64 connections: {'warm search' if answer == 'search' else answer}", "≤ 2× nginx's p99",
                 f"{p99:.1f} ms against {nginx_p99:.1f} ms", f"{p99_ratio:.2f}×", met(p99_ratio <= 2), "`bench/compare.sh`"))
for form, label in (("buckets", "a 24 h minute series (buckets, 68 KB)"), ("columns", "the same series, `format=columns`")):
    m = find(rf"^\| {form} \| (\d+) \| (\d+) \| [\d.]+ \| [\d.]+ \| (\d+) \| ([\d.]+) \| ([\d.]+) \|$", compare, f"series {form}")
    size, rate, nginx, same, to_buckets = int(m.group(1)), int(m.group(2)), int(m.group(3)), float(m.group(4)), float(m.group(5))
    rows.append((f"{label}: rate against nginx serving the answer's bytes as a file", "≥ 0.5×",
                 f"{rate:,} against {nginx:,} req/s ({size:,} B); against nginx's buckets file {to_buckets:.2f}×",
                 f"{same:.2f}×", met(same >= 0.5), "`bench/compare.sh`"))

when = (out / "date").read_text().strip() if (out / "date").exists() else "?"
load = find(r"^load average: before ([\d.]+)", compare, "load average").group(1)
lines = [f"Measured {when}, one run of `bench/goals.sh` (2 shared cores; load average {load} at its start).", "",
         "| goal | target | figure | ratio | | bench |", "|---|---|---|---|---|---|"]
lines += ["| " + " | ".join(r) + " |" for r in rows]
table = "\n".join(lines)
print(table)
if update_doc:
    text = doc.read_text()
    begin, end = "<!-- goals:begin -->", "<!-- goals:end -->"
    if begin not in text or end not in text:
        sys.exit(f"goals.sh: markers {begin} / {end} missing in {doc}")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    doc.write_text(head + begin + "\n" + table + "\n" + end + tail)
    print(f"written into {doc}", file=sys.stderr)
EOF
