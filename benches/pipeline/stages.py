"""Per-stage wall time and peak resident memory of a pipeline run, from its JSON log (the
"stage started" / "stage finished" events) and RSS samples ("<unix seconds> <kB>" lines)."""

import datetime
import json
import sys


def when(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main(log_path, rss_path):
    events = []
    with open(log_path) as log:
        for line in log:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            fields = entry.get("fields", {})
            if fields.get("message") in ("stage started", "stage finished"):
                events.append((when(entry["timestamp"]), fields["message"], fields["stage"]))
    samples = []
    with open(rss_path) as rss:
        for line in rss:
            t, kb = line.split()
            samples.append((float(t), int(kb)))
    if not samples:
        sys.exit("no memory samples")
    end = samples[-1][0]
    windows, open_stage, last_end = [], {}, None
    for t, message, stage in events:
        if message == "stage started":
            open_stage[stage] = t
        elif stage in open_stage:
            windows.append((stage, open_stage.pop(stage), t))
            last_end = t
    if last_end is not None:
        windows.append(("report + publish", last_end, end))
    print("| stage | wall (s) | peak RSS (MiB) |")
    print("|---|---:|---:|")
    for stage, start, stop in windows:
        inside = [kb for t, kb in samples if start - 0.2 <= t <= stop + 0.2]
        peak = max(inside) / 1024 if inside else float("nan")
        print(f"| {stage} | {stop - start:,.1f} | {peak:,.0f} |")
    total = end - samples[0][0]
    print(f"| **whole run** | **{total:,.1f}** | **{max(kb for _, kb in samples) / 1024:,.0f}** |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
