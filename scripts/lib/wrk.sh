# Shared by the scripts that load a running service with wrk (vs-fastapi.sh, ab-serve.sh):
# source it after setting py (a python3) and tmp (a scratch directory).

# free_port prints a TCP port free on 127.0.0.1.
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_port PORT waits up to 10 s for something to listen on PORT.
wait_port() {
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listens on $1" >&2
  return 1
}

# make_rows writes $tmp/train.json (2000 x 10 rows) and $tmp/row.json (one row), the same on
# every run (seed 1).
make_rows() {
  $py - "$tmp" <<'PY'
import json, random, sys
random.seed(1)
X = [[random.gauss(0, 1) for _ in range(10)] for _ in range(2000)]
json.dump(X, open(sys.argv[1] + "/train.json", "w"))
json.dump([[random.gauss(0, 1) for _ in range(10)]], open(sys.argv[1] + "/row.json", "w"))
PY
}

# setup_forest BASE OUT: creates and trains an isolation forest on $tmp/train.json through the
# API at BASE, and writes a predict body for $tmp/row.json to OUT.
setup_forest() {
  $py - "$1" "$tmp" "$2" <<'PY'
import json, sys, urllib.request
base, tmp, out = sys.argv[1], sys.argv[2], sys.argv[3]
def post(path, body):
    r = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(r).read())
d = post("/api/v1/detectors", {"name": "bench", "algorithm": "isolation_forest", "parameters": {}})
post("/api/v1/detection/train", {"detector_id": d["id"], "data": json.load(open(tmp + "/train.json"))})
body = {"detector_id": d["id"], "data": json.load(open(tmp + "/row.json"))}
print(json.dumps(post("/api/v1/detection/predict", body)), file=sys.stderr)
open(out, "w").write(json.dumps(body))
PY
}

# wrk_summary FILE: prints "requests/s p50_ms p99_ms total errors" from wrk --latency output,
# reading p50/p99 only from the latency distribution lines.
wrk_summary() {
  $py - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def dur(s):
    v, u = float(re.match(r"([\d.]+)", s).group(1)), re.match(r"[\d.]+(\w+)", s).group(1)
    return v * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = dur(re.search(r"^\s*50%\s+(\S+)", text, re.M).group(1))
p99 = dur(re.search(r"^\s*99%\s+(\S+)", text, re.M).group(1))
total = int(re.search(r"(\d+) requests in", text).group(1))
errs = 0
m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if m: errs += int(m.group(1))
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if m: errs += sum(int(x) for x in m.groups())
print(rps, p50, p99, total, errs)
PY
}
