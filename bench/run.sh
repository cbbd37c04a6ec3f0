#!/usr/bin/env bash
# Portico HTTP/1.1 and HTTP/2 load benchmark against nginx and h2o, WebSocket echo benchmark
# against node's ws and python3-websockets, and gRPC benchmark against the gRPC project's C++
# server (bench/grpc_cpp_server), on the same machine, same run.
#
#   bench/run.sh                 (or: make bench)
#
# Environment (all optional):
#   PORTICO_BIN   portico binary            (default build/release/apps/portico/portico)
#   SERVERS       servers to run            (default "portico nginx h2o node python grpc_cpp"; a
#                 missing one is skipped). nginx and h2o take the HTTP scenarios, node
#                 (bench/ws_echo_node.js, npm package ws) and python (bench/ws_echo_python.py,
#                 python3-websockets) the WebSocket ones, grpc_cpp (bench/grpc_cpp_server) the
#                 gRPC ones, portico all (`portico serve` for HTTP and WebSocket,
#                 apps/grpc_interop_server for gRPC); a server is started only when a scenario
#                 needs it
#   SCENARIOS     "http1 http2 ws grpc" (the default), where
#                   http1 = "ka64 ka256 pipe16 file1m idle"
#                   http2 = "h2c64m16 h2c256m32 h2tls64m16 h2tls256m32 h2file1m file1mc1"
#                   ws    = "ws64 ws64k"
#                   grpc  = "grpc_unary grpc_stream"
#                 HTTP/1.1 (wrk or bench/bigfile_client):
#                   kaN: keep-alive, N connections; pipeD: pipelined depth D at PIPE_CONNS
#                   connections; fileNk / fileNm[cC]: an N KiB / MiB file of random bytes over
#                   FILE_CONNS (or C) keep-alive connections, reported in GB/s;
#                   idle: memory per idle keep-alive connection
#                 HTTP/2 (h2load, one thread):
#                   h2cN[mM]: /hello.txt over cleartext HTTP/2 (prior knowledge), N connections,
#                   M concurrent streams each (default H2_STREAMS); h2tlsN[mM]: the same over TLS
#                   (ALPN h2); h2fileNk / h2fileNm[cC]: the file over h2c, C connections
#                   (default 1), one stream at a time on each, reported in GB/s
#                 WebSocket echo (bench/ws_load, one thread, one message in flight per connection):
#                   wsN: N connections, WS_SMALL-byte binary messages, reported in round trips/s;
#                   wsNk / wsNm[cC]: N KiB / MiB messages on WS_CONNS (or C) connections, reported
#                   in MB/s of echoed payload. Portico serves --ws-echo /ws/echo --ws-no-deflate;
#                   every server echoes without compression
#                 gRPC (bench/grpc_load, one thread, h2c prior knowledge, grpc.testing.TestService,
#                 GRPC_BYTES-byte payloads each way):
#                   grpc_unary[_CxS]: UnaryCall after UnaryCall on S concurrent streams on each of
#                   C connections (default GRPC_CONNS x GRPC_STREAMS), in calls/s;
#                   grpc_stream[_CxS]: one long FullDuplexCall per stream, ping-pong (one request
#                   message, one response message, the next request), in messages/s
#   ROUNDS        rounds per scenario, servers alternating; the median is reported (default 3)
#   DURATION      seconds per measurement   (default 10)
#   WARMUP        seconds of warm-up before each measurement (default 2)
#   PIPE_CONNS    connections for pipeD     (default 64)
#   FILE_CONNS    connections for fileN*    (default 16)
#   H2_STREAMS    streams per connection for h2cN / h2tlsN without mM (default 16)
#   IDLE_CONNS    connections for idle      (default 10000)
#   WS_CONNS      connections for wsNk/wsNm (default 64)
#   WS_SMALL      message bytes for wsN     (default 32)
#   GRPC_CONNS / GRPC_STREAMS  connections and concurrent calls on each for grpc_* without _CxS
#                 (default 1 / 64)
#   GRPC_BYTES    payload bytes of each gRPC request and response message (default 32)
#   GRPC_CPP_THREADS  completion-queue threads of bench/grpc_cpp_server (default 1)
#   GRPC_PORTICO_BIN  Portico's gRPC server (default build/release/apps/grpc_interop_server/grpc_interop_server)
#   GRPC_CPP_BIN  the gRPC C++ server      (default build/release/bench/grpc_cpp_server)
#   BENCH_PORT    first port; servers use BENCH_PORT..BENCH_PORT+10 (default 18080): +0..+2 the
#                 cleartext listeners of portico, nginx, h2o (HTTP/1.1, and h2c for portico and
#                 h2o; WebSocket for portico), +3..+5 their TLS listeners, +6 nginx's h2c
#                 listener, +7 node, +8 python, +9 Portico's gRPC server, +10 the gRPC C++
#                 server; every port a run needs is checked free first
#   SERVER_CPU / CLIENT_CPU   CPUs for the server and for the load generator (default 0 / 1)
#   RESULTS_DIR   where results go          (default bench/results)
#   UPDATE_DOCS   1: copy the charts to docs/benchmarks-http1.png, docs/benchmarks-http2.png,
#                 docs/benchmarks-grpc.png (default 1)
#
# Everything runs on 127.0.0.1; configs, docroot, certificate, logs and pid files live in a temp
# dir; every process started here is stopped on exit (normal, error or Ctrl-C).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench

PORTICO_BIN=${PORTICO_BIN:-$ROOT/build/release/apps/portico/portico}
SERVERS=${SERVERS:-portico nginx h2o node python grpc_cpp}
SCENARIOS=${SCENARIOS:-http1 http2 ws grpc}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
PIPE_CONNS=${PIPE_CONNS:-64}
FILE_CONNS=${FILE_CONNS:-16}
H2_STREAMS=${H2_STREAMS:-16}
IDLE_CONNS=${IDLE_CONNS:-10000}
WS_CONNS=${WS_CONNS:-64}
WS_SMALL=${WS_SMALL:-32}
GRPC_CONNS=${GRPC_CONNS:-1}
GRPC_STREAMS=${GRPC_STREAMS:-64}
GRPC_BYTES=${GRPC_BYTES:-32}
GRPC_CPP_THREADS=${GRPC_CPP_THREADS:-1}
GRPC_PORTICO_BIN=${GRPC_PORTICO_BIN:-$ROOT/build/release/apps/grpc_interop_server/grpc_interop_server}
GRPC_CPP_BIN=${GRPC_CPP_BIN:-$ROOT/build/release/bench/grpc_cpp_server}
BENCH_PORT=${BENCH_PORT:-18080}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
RESULTS_DIR=${RESULTS_DIR:-$BENCH/results}
UPDATE_DOCS=${UPDATE_DOCS:-1}

SERVERS=${SERVERS//,/ }
SCENARIOS=${SCENARIOS//,/ }
SCENARIOS=$(for s in $SCENARIOS; do
  case $s in
    http1) echo ka64 ka256 pipe16 file1m idle ;;
    http2) echo h2c64m16 h2c256m32 h2tls64m16 h2tls256m32 h2file1m file1mc1 ;;
    ws) echo ws64 ws64k ;;
    grpc) echo grpc_unary grpc_stream ;;
    *) echo "$s" ;;
  esac
done | awk '!seen[$0]++' | tr '\n' ' ')
SCENARIOS=${SCENARIOS% }
DURATION=${DURATION%s}
WARMUP=${WARMUP%s}

die() { echo "bench: error: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

for v in ROUNDS DURATION WARMUP PIPE_CONNS FILE_CONNS H2_STREAMS IDLE_CONNS WS_CONNS WS_SMALL GRPC_CONNS GRPC_STREAMS GRPC_BYTES GRPC_CPP_THREADS BENCH_PORT SERVER_CPU CLIENT_CPU; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
((ROUNDS >= 1 && DURATION >= 1)) || die "ROUNDS and DURATION must be >= 1"
((FILE_CONNS >= 1 && FILE_CONNS <= 1000)) || die "FILE_CONNS must be in 1..1000"
((H2_STREAMS >= 1 && H2_STREAMS <= 100)) || die "H2_STREAMS must be in 1..100"
((BENCH_PORT >= 1024 && BENCH_PORT <= 65000)) || die "BENCH_PORT must be in 1024..65000"
((WS_CONNS >= 1 && WS_CONNS <= 10000)) || die "WS_CONNS must be in 1..10000"
((WS_SMALL >= 1 && WS_SMALL <= 65536)) || die "WS_SMALL must be in 1..65536"
((GRPC_CONNS >= 1 && GRPC_CONNS <= 1000)) || die "GRPC_CONNS must be in 1..1000"
((GRPC_STREAMS >= 1 && GRPC_STREAMS <= 100)) || die "GRPC_STREAMS must be in 1..100 (Portico allows 128 concurrent streams)"
((GRPC_BYTES <= 65536)) || die "GRPC_BYTES must be in 0..65536"
((GRPC_CPP_THREADS >= 1 && GRPC_CPP_THREADS <= 64)) || die "GRPC_CPP_THREADS must be in 1..64"
NEED_H2=0   # an HTTP/2 scenario: h2load, a certificate, TLS and h2c listeners
NEED_HTTP=0 # an HTTP scenario: nginx and h2o
NEED_WS=0   # a WebSocket scenario: ws_load, node and python echo servers, Portico's /ws/echo
NEED_GRPC=0 # a gRPC scenario: grpc_load, grpc_interop_server and grpc_cpp_server
for s in $SCENARIOS; do
  [[ $s =~ ^(ka[0-9]+|pipe[0-9]+|(h2)?file[0-9]+[km](c[0-9]+)?|idle|h2(c|tls)[0-9]+(m[0-9]+)?|ws[0-9]+|ws[0-9]+[km](c[0-9]+)?|grpc_(unary|stream)(_[0-9]+x[0-9]+)?)$ ]] ||
    die "unknown scenario '$s' (kaN, pipeD, fileNk, fileNm[cC], idle, h2cN[mM], h2tlsN[mM], h2fileNm[cC], wsN, wsNk[cC], wsNm[cC], grpc_unary[_CxS], grpc_stream[_CxS]; groups http1, http2, ws, grpc)"
  [[ $s == h2* ]] && NEED_H2=1
  if [[ $s == ws* ]]; then NEED_WS=1; elif [[ $s == grpc_* ]]; then NEED_GRPC=1; else NEED_HTTP=1; fi
  if [[ $s =~ ^grpc_[a-z]+_([0-9]+)x([0-9]+)$ ]]; then
    ((10#${BASH_REMATCH[1]} >= 1 && 10#${BASH_REMATCH[1]} <= 1000)) || die "scenario '$s': connections must be in 1..1000"
    ((10#${BASH_REMATCH[2]} >= 1 && 10#${BASH_REMATCH[2]} <= 100)) || die "scenario '$s': streams per connection must be in 1..100"
  elif [[ $s =~ ^ws([0-9]+)$ ]]; then
    ((10#${BASH_REMATCH[1]} >= 1 && 10#${BASH_REMATCH[1]} <= 10000)) || die "scenario '$s': connections must be in 1..10000"
  elif [[ $s =~ ^ws([0-9]+)([km])(c([0-9]+))?$ ]]; then
    max=64
    [[ ${BASH_REMATCH[2]} == k ]] && max=65536
    ((10#${BASH_REMATCH[1]} >= 1 && 10#${BASH_REMATCH[1]} <= max)) || die "scenario '$s': message size must be 1k..64m"
    [[ -z ${BASH_REMATCH[4]} ]] || ((10#${BASH_REMATCH[4]} >= 1 && 10#${BASH_REMATCH[4]} <= 10000)) ||
      die "scenario '$s': connections must be in 1..10000"
  elif [[ $s == file* || $s == h2file* ]]; then
    n=${s#h2}; n=${n#file}; n=${n%%c*}; u=${n: -1}; n=${n%?}; max=64
    [[ $u == k ]] && max=65536
    ((10#$n >= 1 && 10#$n <= max)) || die "scenario '$s': file size must be 1k..64m"
    if [[ $s == *c* ]]; then
      c=${s##*c}; ((10#$c >= 1 && 10#$c <= 1000)) || die "scenario '$s': connections must be in 1..1000"
    fi
  elif [[ $s =~ ^h2(c|tls)([0-9]+)(m([0-9]+))?$ ]]; then
    ((10#${BASH_REMATCH[2]} >= 1 && 10#${BASH_REMATCH[2]} <= 10000)) || die "scenario '$s': connections must be in 1..10000"
    [[ -z ${BASH_REMATCH[4]} ]] || ((10#${BASH_REMATCH[4]} >= 1 && 10#${BASH_REMATCH[4]} <= 100)) ||
      die "scenario '$s': streams per connection must be in 1..100"
  fi
done
for s in $SERVERS; do
  [[ $s =~ ^(portico|nginx|h2o|node|python|grpc_cpp)$ ]] || die "unknown server '$s' (portico, nginx, h2o, node, python, grpc_cpp)"
done
for t in taskset curl ss cc awk $( ((NEED_HTTP)) && echo wrk gnuplot); do
  command -v "$t" >/dev/null || die "'$t' not found; run scripts/setup.sh --bench"
done
if ((NEED_H2)); then
  for t in h2load openssl; do
    command -v "$t" >/dev/null || die "'$t' not found; run scripts/setup.sh --bench"
  done
fi
NCPU=$(nproc)
((SERVER_CPU < NCPU && CLIENT_CPU < NCPU)) || die "SERVER_CPU/CLIENT_CPU must be < $NCPU"
[[ $SERVER_CPU != "$CLIENT_CPU" ]] || note "warning: server and load generator share CPU $SERVER_CPU"

# ---------------------------------------------------------------------------------------------
# Servers present
# PORT: cleartext HTTP/1.1 (and h2c prior knowledge for portico and h2o, which tell the client
# preface from an HTTP/1.1 request on one listener); TLS_PORT: TLS with ALPN h2 and http/1.1;
# H2C_PORT: where h2c is spoken (nginx needs a listener of its own: `listen ... http2` without
# ssl is prior knowledge only). The WebSocket echo servers (node, python) have PORT only;
# Portico serves /ws/echo on its cleartext listener. The gRPC servers (portico_grpc: Portico's
# apps/grpc_interop_server; grpc_cpp: bench/grpc_cpp_server) have PORT only, h2c.
declare -A PORT TLS_PORT H2C_PORT SRV_PID
i=0
for s in portico nginx h2o; do
  PORT[$s]=$((BENCH_PORT + i)); TLS_PORT[$s]=$((BENCH_PORT + 3 + i)); H2C_PORT[$s]=${PORT[$s]}
  i=$((i + 1))
done
H2C_PORT[nginx]=$((BENCH_PORT + 6))
PORT[node]=$((BENCH_PORT + 7))
PORT[python]=$((BENCH_PORT + 8))
PORT[portico_grpc]=$((BENCH_PORT + 9))
PORT[grpc_cpp]=$((BENCH_PORT + 10))
HTTP_PEERS=(portico nginx h2o)  # the servers of the HTTP scenarios (tables, JSON)
WS_PEERS=(portico node python)  # the servers of the WebSocket scenarios
GRPC_PEERS=(portico_grpc grpc_cpp)  # the servers of the gRPC scenarios
NODE_MODULES=$ROOT/tests/interop/node/node_modules
PY_WS=/usr/bin/python3          # Debian's python3, where python3-websockets is installed
ACTIVE=()
# `portico` in SERVERS stands for both of Portico's programs: `portico serve` (portico) for the
# HTTP and WebSocket scenarios, grpc_interop_server (portico_grpc) for the gRPC ones.
WANTED=""
for s in $SERVERS; do
  if [[ $s == portico ]]; then WANTED+=" portico portico_grpc"; else WANTED+=" $s"; fi
done
for s in $WANTED; do
  # A server no scenario of this run needs is not started.
  case $s in
    portico) ((NEED_HTTP || NEED_WS)) || continue ;;
    nginx | h2o) ((NEED_HTTP)) || continue ;;
    node | python) ((NEED_WS)) || continue ;;
    portico_grpc | grpc_cpp) ((NEED_GRPC)) || continue ;;
  esac
  why=""
  case $s in
    portico) bin=$PORTICO_BIN ;;
    portico_grpc) bin=$GRPC_PORTICO_BIN ;;
    grpc_cpp) bin=$GRPC_CPP_BIN ;;
    nginx) bin=$(command -v nginx || true) ;;
    h2o) bin=$(command -v h2o || true) ;;
    node)
      bin=$(command -v node || true)
      [[ -f $NODE_MODULES/ws/package.json ]] || why="tests/interop/node/node_modules/ws missing (scripts/setup.sh runs npm ci)"
      ;;
    python)
      bin=$PY_WS
      [[ -x $bin ]] && ! "$bin" -c 'import websockets' 2>/dev/null && why="python3-websockets missing (scripts/setup.sh)"
      ;;
  esac
  if [[ -z $bin || ! -x $bin ]]; then
    note "skipping $s: binary not found (${bin:-$s not in PATH})"
  elif [[ -n $why ]]; then
    note "skipping $s: $why"
  else
    ACTIVE+=("$s")
  fi
done
((${#ACTIVE[@]})) || die "no server to benchmark"

scen_servers() {  # scenario -> the active servers that take part in it, in ACTIVE's order
  local s
  for s in "${ACTIVE[@]}"; do
    case $s in
      portico) [[ $1 == grpc_* ]] || echo "$s" ;;
      nginx | h2o) [[ $1 == ws* || $1 == grpc_* ]] || echo "$s" ;;
      node | python) [[ $1 == ws* ]] && echo "$s" ;;
      portico_grpc | grpc_cpp) [[ $1 == grpc_* ]] && echo "$s" ;;
    esac
  done
  return 0
}
scen_peers() {  # scenario -> the servers of its tables (active or not)
  if [[ $1 == ws* ]]; then echo "${WS_PEERS[*]}"
  elif [[ $1 == grpc_* ]]; then echo "${GRPC_PEERS[*]}"
  else echo "${HTTP_PEERS[*]}"; fi
}

# ---------------------------------------------------------------------------------------------
# Limits: servers and idle_conns need one fd per connection.
hard=$(ulimit -Hn)
ulimit -n 65536 2>/dev/null || ulimit -n "$hard"
NOFILE=$(ulimit -n)
[[ $NOFILE == unlimited ]] && NOFILE=65536
if ((IDLE_CONNS + 128 > NOFILE)); then
  note "warning: open-file limit is $NOFILE; IDLE_CONNS lowered from $IDLE_CONNS to $((NOFILE - 128))"
  IDLE_CONNS=$((NOFILE - 128))
fi
MAXCONN=$((NOFILE - 64 < 20000 ? NOFILE - 64 : 20000))

# ---------------------------------------------------------------------------------------------
# Temp dir, cleanup
WORK=$(mktemp -d /tmp/portico-bench.XXXXXX)
chmod 755 "$WORK"   # nginx workers and h2o drop to 'nobody' when started as root
IDLE_PID=""
ALL_PIDS=()

tree_pids() {  # PID and all its descendants
  local p=$1 c
  [[ -d /proc/$p ]] || return 0
  echo "$p"
  for c in $(pgrep -P "$p" 2>/dev/null || true); do tree_pids "$c"; done
}

stop_tree() {  # SIGTERM a process tree, SIGKILL whatever is left after 5 s
  local root=$1 pids p n
  pids=$(tree_pids "$root")
  [[ -n $pids ]] || { wait "$root" 2>/dev/null || true; return 0; }
  kill -TERM $pids 2>/dev/null || true
  for ((n = 0; n < 50; n++)); do
    local alive=0
    for p in $pids; do
      if [[ -d /proc/$p && $(awk '{print $3}' /proc/$p/stat 2>/dev/null) != Z ]]; then alive=1; fi
    done
    ((alive)) || break
    sleep 0.1
  done
  kill -KILL $pids 2>/dev/null || true
  wait "$root" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  exec 7>&- 2>/dev/null
  if [[ -n $IDLE_PID ]]; then stop_tree "$IDLE_PID"; fi
  for p in "${ALL_PIDS[@]}"; do stop_tree "$p"; done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'note interrupted; exit 130' INT
trap 'note terminated; exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Docroot and configs (equivalent settings; see docs/benchmarks.md)
DOCROOT=$WORK/www
mkdir -p "$DOCROOT" "$WORK/nginx" "$WORK/h2o"
printf 'Hello, World!' >"$DOCROOT/hello.txt"
chmod 755 "$DOCROOT" "$WORK/nginx" "$WORK/h2o"
chmod 644 "$DOCROOT/hello.txt"

file_name() {  # fileNm, fileNmcC, h2fileNm, h2fileNmcC -> fileNm (the file's base name)
  local n=${1#h2}
  echo "${n%%c*}"
}
file_bytes() {  # fileNk / fileNm (and the variants above) -> size in bytes
  local n
  n=$(file_name "$1")
  n=${n#file}
  case ${n: -1} in k) echo $((10#${n%?} * 1024)) ;; m) echo $((10#${n%?} * 1048576)) ;; esac
}
file_conns() {  # fileNm -> FILE_CONNS, h2fileNm -> 1, ...cC -> C
  local def=$FILE_CONNS
  [[ $1 == h2* ]] && def=1
  if [[ $1 == *c* ]]; then echo $((10#${1##*c})); else echo "$def"; fi
}
# Large-file scenarios: fileNm fetches /fileNm.bin, N MiB of random bytes (incompressible,
# served as application/octet-stream by every server).
for s in $SCENARIOS; do
  if [[ $s == file* || $s == h2file* ]]; then
    f=$DOCROOT/$(file_name "$s").bin
    [[ -e $f ]] || head -c "$(file_bytes "$s")" /dev/urandom >"$f"
    chmod 644 "$f"
  fi
done

# HTTP/2: one self-signed EC P-256 certificate for all servers (scripts/dev-cert.sh), a TLS
# listener for each and nginx's h2c listener. nginx's master (and h2o, before it drops to
# nobody) read the key as the user running this script.
NGINX_H2=""
H2O_H2=""
PORTICO_H2=()
# WebSocket: Portico's echo endpoint, without permessage-deflate like the node and python peers.
PORTICO_WS=()
((NEED_WS)) && PORTICO_WS=(--ws-echo /ws/echo --ws-no-deflate)
if ((NEED_H2)); then
  "$ROOT/scripts/dev-cert.sh" "$WORK/cert" >/dev/null 2>&1 || die "scripts/dev-cert.sh failed"
  CERT=$WORK/cert/cert.pem
  KEY=$WORK/cert/key.pem
  NGINX_H2="
    server {
        listen 127.0.0.1:${TLS_PORT[nginx]} ssl http2;
        ssl_certificate $CERT;
        ssl_certificate_key $KEY;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $DOCROOT;
        location / { }
    }
    server {
        listen 127.0.0.1:${H2C_PORT[nginx]} http2;
        root $DOCROOT;
        location / { }
    }"
  H2O_H2="
listen:
  host: 127.0.0.1
  port: ${TLS_PORT[h2o]}
  ssl:
    certificate-file: $CERT
    key-file: $KEY
    ocsp-update-interval: 0"
  PORTICO_H2=(--listen-tls "127.0.0.1:${TLS_PORT[portico]}" --tls-cert "$CERT" --tls-key "$KEY")
fi

cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $NOFILE;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events {
    worker_connections $MAXCONN;
}
http {
    access_log off;
    sendfile on;
    gzip off;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    types { text/plain txt; }
    default_type application/octet-stream;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:${PORT[nginx]};
        root $DOCROOT;
        location / { }
    }$NGINX_H2
}
EOF

# h2o 2.2: no per-connection request limit exists; http1-request-timeout is also its idle
# keep-alive timeout. No compress/gzip directive means no compression. No access-log directive
# means no access log. Files: the file handler's defaults (h2o 2.2 has no sendfile setting; it
# reads file bodies with pread into its buffers and writes them).
cat >"$WORK/h2o/h2o.conf" <<EOF
num-threads: 1
max-connections: $MAXCONN
http1-request-timeout: 300
error-log: $WORK/h2o/error.log
listen:
  host: 127.0.0.1
  port: ${PORT[h2o]}
hosts:
  default:
    paths:
      /:
        file.dir: $DOCROOT$H2O_H2
EOF

server_ports() {  # every port server $1 listens on
  local s=$1
  echo "${PORT[$s]}"
  if ((NEED_H2)) && [[ $s =~ ^(portico|nginx|h2o)$ ]]; then
    echo "${TLS_PORT[$s]}"
    [[ ${H2C_PORT[$s]} == "${PORT[$s]}" ]] || echo "${H2C_PORT[$s]}"
  fi
}

serves_hello() {  # server -> true when every listener of it serves /hello.txt
  local s=$1 body
  body=$(curl -s --max-time 1 "http://127.0.0.1:${PORT[$s]}/hello.txt" 2>/dev/null || true)
  [[ $body == "Hello, World!" ]] || return 1
  ((NEED_H2)) || return 0
  body=$(curl -sk --http2 --max-time 1 "https://127.0.0.1:${TLS_PORT[$s]}/hello.txt" 2>/dev/null || true)
  [[ $body == "Hello, World!" ]] || return 1
  body=$(curl -s --http2-prior-knowledge --max-time 1 "http://127.0.0.1:${H2C_PORT[$s]}/hello.txt" 2>/dev/null || true)
  [[ $body == "Hello, World!" ]]
}

serves_ws() {  # server -> true when /ws/echo on its port echoes one message (bench/ws_load)
  timeout -k 1 3 "$WS_LOAD_BIN" -c 1 -n 1 -w 0 -d 1 -t 2 -p "${PORT[$1]}" -u /ws/echo -s "$WS_SMALL" \
    >/dev/null 2>&1
}

serves_grpc() {  # server -> true when one UnaryCall on its port succeeds (bench/grpc_load)
  timeout -k 1 4 "$GRPC_LOAD_BIN" -m unary -c 1 -s 1 -n 1 -w 0 -d 1 -t 2 -p "${PORT[$1]}" -b "$GRPC_BYTES" \
    >/dev/null 2>&1
}

server_ready() {  # server -> true when every listener it has for this run answers
  case $1 in
    node | python) serves_ws "$1" ;;
    portico_grpc | grpc_cpp) serves_grpc "$1" ;;
    portico) serves_hello "$1" && { ((!NEED_WS)) || serves_ws "$1"; } ;;
    *) serves_hello "$1" ;;
  esac
}

check_ports_free() {  # every port of every server of this run, before any starts
  local s p
  for s in "${ACTIVE[@]}"; do
    for p in $(server_ports "$s"); do
      if [[ -n $(ss -Hltn "sport = :$p" 2>/dev/null) ]]; then
        die "port $p (for $s) is already in use; set BENCH_PORT"
      fi
    done
  done
}

start_server() {
  local s=$1 port=${PORT[$1]} pid n p
  for p in $(server_ports "$s"); do
    if [[ -n $(ss -Hltn "sport = :$p" 2>/dev/null) ]]; then
      die "port $p (for $s) is already in use; set BENCH_PORT"
    fi
  done
  : >"$WORK/$s.out"
  case $s in
    portico)
      taskset -c "$SERVER_CPU" "$PORTICO_BIN" serve "$DOCROOT" --listen "127.0.0.1:$port" "${PORTICO_H2[@]}" \
        "${PORTICO_WS[@]}" --threads 1 --keepalive-timeout 300 --max-requests-per-connection 1000000 \
        </dev/null >>"$WORK/$s.out" 2>&1 &
      ;;
    node)
      taskset -c "$SERVER_CPU" node "$BENCH/ws_echo_node.js" "$port" 127.0.0.1 </dev/null >>"$WORK/$s.out" 2>&1 &
      ;;
    python)
      taskset -c "$SERVER_CPU" "$PY_WS" "$BENCH/ws_echo_python.py" "$port" 127.0.0.1 </dev/null >>"$WORK/$s.out" 2>&1 &
      ;;
    portico_grpc)
      taskset -c "$SERVER_CPU" "$GRPC_PORTICO_BIN" --port="$port" --host=127.0.0.1 --threads=1 \
        </dev/null >>"$WORK/$s.out" 2>&1 &
      ;;
    grpc_cpp)
      taskset -c "$SERVER_CPU" "$GRPC_CPP_BIN" --port="$port" --host=127.0.0.1 --threads="$GRPC_CPP_THREADS" \
        </dev/null >>"$WORK/$s.out" 2>&1 &
      ;;
    nginx)
      taskset -c "$SERVER_CPU" nginx -p "$WORK/nginx/" -e "$WORK/nginx/error.log" \
        -c "$WORK/nginx/nginx.conf" -g 'daemon off;' </dev/null >>"$WORK/$s.out" 2>&1 &
      ;;
    h2o)
      taskset -c "$SERVER_CPU" h2o -c "$WORK/h2o/h2o.conf" </dev/null >>"$WORK/$s.out" 2>&1 &
      ;;
  esac
  pid=$!
  SRV_PID[$s]=$pid
  ALL_PIDS+=("$pid")
  for ((n = 0; n < 100; n++)); do
    if ! [[ -d /proc/$pid ]] || [[ $(awk '{print $3}' /proc/$pid/stat 2>/dev/null) == Z ]]; then
      tail -n 20 "$WORK/$s.out" "$WORK/$s/error.log" 2>/dev/null >&2 || true
      die "$s exited during start-up"
    fi
    server_ready "$s" && return 0
    sleep 0.1
  done
  tail -n 20 "$WORK/$s.out" "$WORK/$s/error.log" 2>/dev/null >&2 || true
  die "$s did not answer (/hello.txt, /ws/echo, UnaryCall) on all of its ports ($(server_ports "$s" | tr '\n' ' ')) within 10 s"
}

forget_pid() {  # a process that has been waited for: no longer stopped on exit
  local p keep=()
  for p in "${ALL_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  ALL_PIDS=("${keep[@]}")
}

stop_server() {
  local s=$1 pid=${SRV_PID[$1]:-}
  [[ -n $pid ]] || return 0
  stop_tree "$pid"
  forget_pid "$pid"
  SRV_PID[$s]=""
}

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() {  # utime+stime of the whole process tree (each /proc/PID/stat covers all threads)
  local p t=0 v
  for p in $(tree_pids "$1"); do
    v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

cpu_lines() {  # /proc/stat: all CPUs, the server CPU, the client CPU
  awk -v a="cpu$SERVER_CPU" -v b="cpu$CLIENT_CPU" '$1 == "cpu" || $1 == a || $1 == b' /proc/stat
}
cpu_busy() {  # before after -> "server_busy% client_busy% steal% process_ticks"
  # busy: not idle/iowait (includes softirq and other processes); steal: max of the two CPUs;
  # process_ticks: user+nice+system ticks of all CPUs, i.e. time charged to some process.
  awk -v a="cpu$SERVER_CPU" -v b="cpu$CLIENT_CPU" '
    { t = 0; for (i = 2; i <= 9; i++) t += $i; idle = $5 + $6; st = $9; pr = $2 + $3 + $4 }
    NR == FNR { T[$1] = t; I[$1] = idle; S[$1] = st; P[$1] = pr; next }
    { dt = t - T[$1]; if (dt <= 0) dt = 1
      busy[$1] = 100 * (dt - (idle - I[$1])) / dt; steal[$1] = 100 * (st - S[$1]) / dt
      proc[$1] = pr - P[$1] }
    END { m = steal[a] > steal[b] ? steal[a] : steal[b]
          printf "%.0f %.0f %.1f %d\n", busy[a], busy[b], m, proc["cpu"] }' "$1" "$2"
}
children_ticks() {  # CPU ticks of this shell's finished (waited-for) descendants: wrk's time
  sed 's/.*) //' "/proc/$$/stat" | awk '{print $14 + $15}'
}

rss_kb() {  # resident memory of the whole process tree, kB
  local p t=0 v
  for p in $(tree_pids "$1"); do
    if [[ -r /proc/$p/smaps_rollup ]]; then
      v=$(awk '/^Rss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null) || v=0
    else
      v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || v=0
    fi
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

# ---------------------------------------------------------------------------------------------
# Output files
mkdir -p "$RESULTS_DIR"
TS=$(date -u +%Y%m%dT%H%M%SZ)
RAW=$RESULTS_DIR/$TS.tsv
LOG=$RESULTS_DIR/$TS.log
JSON=$RESULTS_DIR/$TS.json
SUMMARY=$RESULTS_DIR/$TS.summary.tsv
printf 'kind\tscenario\tserver\tround\treq_per_s\trequests\tcpu_s\treq_per_cpu_s\terrors\tbytes_per_conn\topen_conns\tserver_cpu_busy_pct\tclient_cpu_busy_pct\tsteal_pct\twrk_cpu_s\tother_procs_cpu_pct\tbody_bytes\tgb_per_s\tbytes_per_cpu_s\tmb_per_s\n' >"$RAW"
: >"$LOG"

# Machine
CPU_MODEL=$(lscpu 2>/dev/null | awk -F: '/^Model name/ {sub(/^[ \t]+/, "", $2); print $2; exit}')
KERNEL=$(uname -r)
OS=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}")
NGINX_V=$(nginx -v 2>&1 | sed 's/^nginx version: //' || true)
H2O_V=$(h2o --version 2>/dev/null | head -n1 || true)
WRK_V=$(wrk -v 2>&1 | head -n1 | awk '{print $1, $2}' || true)
H2LOAD_V=$(h2load --version 2>/dev/null | head -n1 || true)
NODE_V="" WS_V="" PYWS_V=""
if [[ " ${ACTIVE[*]} " == *" node "* ]]; then
  NODE_V="node $(node --version 2>/dev/null || echo '?')"
  WS_V="ws $(node -p "require('$NODE_MODULES/ws/package.json').version" 2>/dev/null || echo '?')"
  [[ -f $NODE_MODULES/bufferutil/package.json ]] && WS_V="$WS_V + bufferutil"
fi
if [[ " ${ACTIVE[*]} " == *" python "* ]]; then
  PYWS_V="python3-websockets $("$PY_WS" -c 'import websockets; print(websockets.__version__)' 2>/dev/null || echo '?')"
  PYWS_V="$PYWS_V ($("$PY_WS" --version 2>&1))"
fi
GRPC_CPP_V=""
if [[ " ${ACTIVE[*]} " == *" grpc_cpp "* ]]; then
  GRPC_CPP_V="libgrpc++ $(pkg-config --modversion grpc++ 2>/dev/null || echo '?') (bench/grpc_cpp_server, async API, $GRPC_CPP_THREADS completion-queue thread(s))"
fi
NGHTTP2_V=$(pkg-config --modversion libnghttp2 2>/dev/null || true)
PORTICO_V=unknown
if [[ " ${ACTIVE[*]} " == *" portico "* ]]; then
  PORTICO_V=$(timeout 2 "$PORTICO_BIN" version 2>&1 </dev/null | head -n1 || true)
  [[ $PORTICO_V =~ [0-9]+\.[0-9]+ ]] || PORTICO_V=$(timeout 2 "$PORTICO_BIN" --version 2>&1 </dev/null | head -n1 || true)
  [[ $PORTICO_V =~ [0-9]+\.[0-9]+ ]] || PORTICO_V=unknown
fi
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)
PORTICO_V="$PORTICO_V (git $GIT_REV)"
MEM_TOTAL=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)

{
  echo "machine: $CPU_MODEL, $NCPU CPUs, $MEM_TOTAL RAM, $OS, kernel $KERNEL"
  echo "peers:   ${NGINX_V:-nginx n/a}; ${H2O_V:-h2o n/a}; ${WRK_V:-wrk n/a}; ${H2LOAD_V:-h2load n/a}; portico: $PORTICO_V"
  ((NEED_WS)) && echo "ws:      ${NODE_V:-node n/a} ${WS_V}; ${PYWS_V:-python3-websockets n/a}; bench/ws_load"
  ((NEED_GRPC)) && echo "grpc:    ${GRPC_CPP_V:-grpc_cpp n/a}; bench/grpc_load on libnghttp2 ${NGHTTP2_V:-?}"
  echo "setup:   server on CPU $SERVER_CPU, wrk -t1 (or bigfile_client, h2load -t1, ws_load, grpc_load) on CPU $CLIENT_CPU; $ROUNDS rounds, median;" \
    "${DURATION}s runs after ${WARMUP}s warm-up; servers: ${ACTIVE[*]}"
} | tee -a "$LOG" >&2

# Other load on the machine skews everything: sample it for one second before starting.
head -n1 /proc/stat >"$WORK/stat0"
sleep 1
head -n1 /proc/stat >"$WORK/stat1"
BUSY_BEFORE=$(awk 'NR == FNR {for (i = 2; i <= 9; i++) t0 += $i; i0 = $5 + $6; next}
  {for (i = 2; i <= 9; i++) t1 += $i; i1 = $5 + $6} END {dt = t1 - t0; if (dt <= 0) dt = 1; printf "%.0f", 100 * (dt - (i1 - i0)) / dt}' \
  "$WORK/stat0" "$WORK/stat1")
if ((BUSY_BEFORE > 10)); then
  note "warning: the machine is ${BUSY_BEFORE}% busy before the benchmark starts; results will be noisy"
  ps -eo pid,pcpu,comm --sort=-pcpu | head -n 4 | tail -n 3 | sed 's/^/bench:   /' >&2
fi
echo "load:    ${BUSY_BEFORE}% of all CPUs busy in the second before the run; load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$LOG" >&2

# Time estimate
nload=0   # measurements: scenarios x their servers
for s in $SCENARIOS; do [[ $s == idle ]] || nload=$((nload + $(scen_servers "$s" | wc -l))); done
est=$((ROUNDS * nload * (DURATION + WARMUP + 1)))
if [[ " $SCENARIOS " == *" idle "* ]]; then est=$((est + ROUNDS * $(scen_servers idle | wc -l) * 7)); fi
note "estimated time: $((est / 60)) min $((est % 60)) s"

# ---------------------------------------------------------------------------------------------
# Build the idle-connection client, the large-file client and the WebSocket echo client
IDLE_BIN=$WORK/idle_conns
cc -O2 -Wall -o "$IDLE_BIN" "$BENCH/idle_conns.c" || die "cannot compile bench/idle_conns.c"
BIGFILE_BIN=$WORK/bigfile_client
cc -O2 -Wall -o "$BIGFILE_BIN" "$BENCH/bigfile_client.c" || die "cannot compile bench/bigfile_client.c"
WS_LOAD_BIN=$WORK/ws_load
cc -O2 -Wall -o "$WS_LOAD_BIN" "$BENCH/ws_load.c" || die "cannot compile bench/ws_load.c"
GRPC_LOAD_BIN=$WORK/grpc_load
if ((NEED_GRPC)); then
  cc -O2 -Wall -o "$GRPC_LOAD_BIN" "$BENCH/grpc_load.c" -lnghttp2 ||
    die "cannot compile bench/grpc_load.c (needs libnghttp2-dev: scripts/setup.sh --bench)"
fi
check_ports_free

# ---------------------------------------------------------------------------------------------
# Memory per idle keep-alive connection. A fresh server per round: warm it with a short wrk
# run, read its RSS, open IDLE_CONNS connections that each get one response and then sit idle,
# read the RSS again.
mem_round() {
  local s=$1 r=$2 port=${PORT[$1]} pid before after line open failed n per fifo out
  start_server "$s"
  pid=${SRV_PID[$s]}
  taskset -c "$CLIENT_CPU" timeout -k 2 10 wrk -t1 -c64 -d1s "http://127.0.0.1:$port/hello.txt" >/dev/null 2>&1 || true
  sleep 0.5
  before=$(rss_kb "$pid")
  fifo=$WORK/idle.ctl
  out=$WORK/idle.out
  rm -f "$fifo"
  mkfifo "$fifo"
  : >"$out"
  taskset -c "$CLIENT_CPU" "$IDLE_BIN" -n "$IDLE_CONNS" -p "$port" -w 3 -t 120 <"$fifo" >"$out" 2>>"$LOG" &
  IDLE_PID=$!
  exec 7>"$fifo"   # idle_conns holds its connections until this is closed
  line=""
  for ((n = 0; n < 1100; n++)); do
    line=$(grep -m1 '^READY' "$out" || true)
    [[ -n $line ]] && break
    [[ -d /proc/$IDLE_PID ]] || break
    sleep 0.1
  done
  after=$(rss_kb "$pid")
  exec 7>&-
  wait "$IDLE_PID" 2>/dev/null || true
  IDLE_PID=""
  stop_server "$s"
  if [[ -z $line ]]; then
    note "$s round $r: idle_conns did not get ready (see $LOG)"
    printf 'idle\tidle\t%s\t%s\t\t\t\t\t1\t\t0\n' "$s" "$r" >>"$RAW"
    return 0
  fi
  open=$(sed 's/.*open=\([0-9]*\).*/\1/' <<<"$line")
  failed=$(sed 's/.*failed=\([0-9]*\).*/\1/' <<<"$line")
  per=-
  if ((open > 0)); then per=$(((after - before) * 1024 / open)); fi
  printf 'idle\tidle\t%s\t%s\t\t\t\t\t%s\t%s\t%s\n' "$s" "$r" "$failed" "$per" "$open" >>"$RAW"
  printf '  idle   %-8s round %d: RSS %d kB -> %d kB, %d idle connections open (%d failed): %s B/conn\n' \
    "$s" "$r" "$before" "$after" "$open" "$failed" "$per" | tee -a "$LOG" >&2
}

if [[ " $SCENARIOS " == *" idle "* ]]; then
  note "memory per idle connection: $IDLE_CONNS connections, $ROUNDS rounds"
  for ((r = 1; r <= ROUNDS; r++)); do
    for s in $(scen_servers idle); do mem_round "$s" "$r"; done
  done
fi

# ---------------------------------------------------------------------------------------------
# Throughput: all servers up (idle ones cost nothing), rounds alternate servers.
wrk_args() {  # scenario -> wrk arguments (without -d and URL)
  case $1 in
    ka*) echo "-t1 -c${1#ka} --timeout 5s" ;;
    pipe*) echo "-t1 -c$PIPE_CONNS --timeout 5s -s $BENCH/pipeline.lua" ;;
  esac
}

load_round() {
  local scen=$1 s=$2 r=$3 port=${PORT[$2]} pid=${SRV_PID[$2]} args url out c0 c1 w0 w1 rps total cpu rpc errs
  local busy_s busy_c steal proc_ticks other wcpu
  args=$(wrk_args "$scen")
  url="http://127.0.0.1:$port/hello.txt"
  export PIPELINE_DEPTH=${scen#pipe}
  # shellcheck disable=SC2086
  taskset -c "$CLIENT_CPU" timeout -k 2 $((WARMUP + 30)) wrk $args -d"${WARMUP}s" "$url" >/dev/null 2>&1 || true
  cpu_lines >"$WORK/stat0"
  w0=$(children_ticks)
  c0=$(cpu_ticks "$pid")
  # shellcheck disable=SC2086
  out=$(taskset -c "$CLIENT_CPU" timeout -k 2 $((DURATION + 30)) wrk $args -d"${DURATION}s" "$url" 2>&1) || true
  c1=$(cpu_ticks "$pid")
  w1=$(children_ticks)
  cpu_lines >"$WORK/stat1"
  read -r busy_s busy_c steal proc_ticks < <(cpu_busy "$WORK/stat0" "$WORK/stat1")
  # CPU time other processes got during the run (both CPUs), in % of one CPU
  other=$(awk -v p="$proc_ticks" -v s=$((c1 - c0)) -v w=$((w1 - w0)) -v hz="$CLK_TCK" -v d="$DURATION" \
    'BEGIN {o = (p - s - w) / hz; if (o < 0) o = 0; printf "%.0f", 100 * o / d}')
  wcpu=$(awk -v t=$((w1 - w0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
  { echo "=== $scen $s round $r: wrk $args -d${DURATION}s $url"; echo "$out"; } >>"$LOG"
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  total=$(awk '/ requests in / {print $1}' <<<"$out")
  errs=$(awk '/^  Socket errors:/ {gsub(/,/, ""); e += $4 + $6 + $8 + $10} /^  Non-2xx/ {e += $NF} END {print e + 0}' <<<"$out")
  if [[ -z $rps || -z $total ]]; then
    note "$scen $s round $r: wrk failed (see $LOG)"
    printf 'load\t%s\t%s\t%s\t\t\t\t\t1\t\t\n' "$scen" "$s" "$r" >>"$RAW"
    return 0
  fi
  cpu=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
  rpc=$(awk -v n="$total" -v c="$cpu" 'BEGIN {if (c > 0) printf "%.0f", n / c; else print ""}')
  printf 'load\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$s" "$r" "$rps" "$total" "$cpu" "$rpc" "$errs" \
    "$busy_s" "$busy_c" "$steal" "$wcpu" "$other" >>"$RAW"
  printf '  %-7s %-8s round %d: %8.0f req/s, server %5.2f CPU-s, %7s req/CPU-s | wrk %5.2f CPU-s, other processes %3s%%, steal %s%%%s\n' \
    "$scen" "$s" "$r" "$rps" "$cpu" "${rpc:--}" "$wcpu" "$other" "$steal" \
    "$(if ((errs)); then echo ", $errs errors"; fi)" | tee -a "$LOG" >&2
  # Other processes or the hypervisor taking CPU time make this round's req/s untrustworthy
  # (req/CPU-s much less so).
  if awk -v st="$steal" -v o="$other" 'BEGIN {exit !(st > 5 || o > 10)}'; then
    note "warning: $scen $s round $r: other processes used ${other}% of a CPU, steal ${steal}%: the machine is not quiet"
  fi
}

# Large file: bench/bigfile_client (recv() of up to 1 MiB; wrk's 8 KiB reads would be the
# bottleneck) on FILE_CONNS keep-alive connections. A warm-up run, then the measured run, as
# with wrk; server CPU time is read around the measured run.
file_args() {  # scenario -> bigfile_client arguments (without -p, -w, -d, -t)
  echo "-c $(file_conns "$1") -u /$(file_name "$1").bin -l $(file_bytes "$1")"
}

file_round() {
  local scen=$1 s=$2 r=$3 port=${PORT[$2]} pid=${SRV_PID[$2]} args out c0 c1 w0 w1 line cpu errs
  local bytes resp gbps rps bpc rpc busy_s busy_c steal proc_ticks other wcpu rc
  args=$(file_args "$scen")
  # shellcheck disable=SC2086
  taskset -c "$CLIENT_CPU" timeout -k 2 $((WARMUP + 40)) "$BIGFILE_BIN" $args -p "$port" -w 0 -d "$WARMUP" \
    -t $((WARMUP + 30)) >/dev/null 2>>"$LOG" || true
  cpu_lines >"$WORK/stat0"
  w0=$(children_ticks)
  c0=$(cpu_ticks "$pid")
  rc=0
  # shellcheck disable=SC2086
  out=$(taskset -c "$CLIENT_CPU" timeout -k 2 $((DURATION + 40)) "$BIGFILE_BIN" $args -p "$port" -w 0 \
    -d "$DURATION" -t $((DURATION + 30)) 2>>"$LOG") || rc=$?
  c1=$(cpu_ticks "$pid")
  w1=$(children_ticks)
  cpu_lines >"$WORK/stat1"
  read -r busy_s busy_c steal proc_ticks < <(cpu_busy "$WORK/stat0" "$WORK/stat1")
  other=$(awk -v p="$proc_ticks" -v s=$((c1 - c0)) -v w=$((w1 - w0)) -v hz="$CLK_TCK" -v d="$DURATION" \
    'BEGIN {o = (p - s - w) / hz; if (o < 0) o = 0; printf "%.0f", 100 * o / d}')
  wcpu=$(awk -v t=$((w1 - w0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
  { echo "=== $scen $s round $r: bigfile_client $args -p $port -w 0 -d $DURATION (exit $rc)"; echo "$out"; } >>"$LOG"
  line=$(grep -m1 '^RESULT ' <<<"$out" || true)
  if [[ -z $line ]]; then
    note "$scen $s round $r: bigfile_client failed (exit $rc; see $LOG)"
    printf 'load\t%s\t%s\t%s\t\t\t\t\t1\t\t\n' "$scen" "$s" "$r" >>"$RAW"
    return 0
  fi
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  bytes=$(field bytes); resp=$(field responses); gbps=$(field gbps); rps=$(field rps); errs=$(field errors)
  ((errs > 0 || rc == 0)) || errs=1   # a non-zero exit without counted errors is still a failure
  cpu=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
  rpc=$(awk -v n="$resp" -v c="$cpu" 'BEGIN {if (c > 0) printf "%.0f", n / c; else print ""}')
  bpc=$(awk -v n="$bytes" -v c="$cpu" 'BEGIN {if (c > 0) printf "%.0f", n / c; else print ""}')
  printf 'load\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$s" "$r" "$rps" "$resp" \
    "$cpu" "$rpc" "$errs" "$busy_s" "$busy_c" "$steal" "$wcpu" "$other" "$bytes" "$gbps" "$bpc" >>"$RAW"
  printf '  %-7s %-8s round %d: %6.3f GB/s, %7.0f resp/s, server %5.2f CPU-s, %6s GB/CPU-s | client %5.2f CPU-s, other processes %3s%%, steal %s%%%s\n' \
    "$scen" "$s" "$r" "$gbps" "$rps" "$cpu" "$(awk -v b="${bpc:-0}" 'BEGIN {printf "%.2f", b / 1e9}')" "$wcpu" "$other" "$steal" \
    "$(if ((errs)); then echo ", $errs errors"; fi)" | tee -a "$LOG" >&2
  if awk -v st="$steal" -v o="$other" 'BEGIN {exit !(st > 5 || o > 10)}'; then
    note "warning: $scen $s round $r: other processes used ${other}% of a CPU, steal ${steal}%: the machine is not quiet"
  fi
}

# HTTP/2: h2load, one thread, pinned like wrk. h2cN[mM] / h2tlsN[mM] fetch /hello.txt on N
# connections with M concurrent streams each; h2fileN*[cC] fetch the file on C connections, one
# stream at a time (flow control: the stream and connection windows, h2load's defaults of 2^30-1
# and 2^30-1 octets (-w 30 -W 30), so the server's sending, not the window, is the limit).
h2_args() {  # scenario -> "h2load arguments (without -D) | URL" for server $2
  local scen=$1 s=$2
  if [[ $scen =~ ^h2(c|tls)([0-9]+)(m([0-9]+))?$ ]]; then
    local m=${BASH_REMATCH[4]:-$H2_STREAMS}
    if [[ ${BASH_REMATCH[1]} == c ]]; then
      echo "-t1 -c${BASH_REMATCH[2]} -m$m|http://127.0.0.1:${H2C_PORT[$s]}/hello.txt"
    else
      echo "-t1 -c${BASH_REMATCH[2]} -m$m|https://127.0.0.1:${TLS_PORT[$s]}/hello.txt"
    fi
  else  # h2file*
    echo "-t1 -c$(file_conns "$scen") -m1|http://127.0.0.1:${H2C_PORT[$s]}/$(file_name "$scen").bin"
  fi
}

# A load client that marks its measured period: h2load ("Main benchmark duration is started" /
# "... is over") and ws_load ("START" / "END"). It runs pinned to CLIENT_CPU under a timeout;
# the server's CPU time and /proc/stat are read when each mark appears. The marks are polled
# every 10 ms with bash builtins only (no grep or sleep processes forked 100 times a second on
# the CPUs being measured). Sets MR_OUT (the client's stdout and stderr), MR_RC (its exit
# status), MR_C0 / MR_C1 (the server tree's CPU ticks at the marks; MR_C1 empty when the end mark
# was not seen) and MR_W (the client's CPU ticks from the start mark to its exit; after the end
# mark it only prints, or closes its connections); $WORK/stat0 and stat1 hold /proc/stat.
SLEEP_FD=""
tick_sleep() {  # sleep 10 ms without forking: read from a FIFO nobody writes to
  if [[ -z $SLEEP_FD ]]; then
    mkfifo "$WORK/sleep.fifo"
    exec {SLEEP_FD}<>"$WORK/sleep.fifo"
  fi
  read -r -t 0.01 -u "$SLEEP_FD" _ || true
}
file_has_line() {  # file regex -> true when a line of the file matches
  local l
  while IFS= read -r l || [[ -n $l ]]; do
    [[ $l =~ $2 ]] && return 0
  done <"$1"
  return 1
}
running() {  # pid -> true while the process exists and is not a zombie
  local st
  [[ -r /proc/$1/stat ]] || return 1
  read -r st <"/proc/$1/stat" 2>/dev/null || return 1
  st=${st##*) }
  [[ ${st%% *} != Z ]]
}
marked_run() {  # server_pid start_regex end_regex limit_s command...
  local pid=$1 start=$2 end=$3 limit=$4 cpid n w0=0 k0 k1
  shift 4
  : >"$WORK/client.out"
  k0=$(children_ticks)
  taskset -c "$CLIENT_CPU" timeout -k 2 "$limit" "$@" >"$WORK/client.out" 2>&1 &
  cpid=$!
  ALL_PIDS+=("$cpid")
  MR_C0="" MR_C1=""
  for ((n = 0; n < (limit + 10) * 100; n++)); do
    if [[ -z $MR_C0 ]] && file_has_line "$WORK/client.out" "$start"; then
      cpu_lines >"$WORK/stat0"
      MR_C0=$(cpu_ticks "$pid"); w0=$(cpu_ticks "$cpid")
    fi
    if [[ -n $MR_C0 ]] && file_has_line "$WORK/client.out" "$end"; then
      MR_C1=$(cpu_ticks "$pid")
      cpu_lines >"$WORK/stat1"
      break
    fi
    running "$cpid" || break
    tick_sleep
  done
  MR_RC=0
  wait "$cpid" 2>/dev/null || MR_RC=$?
  forget_pid "$cpid"
  k1=$(children_ticks)
  MR_W=$((k1 - k0 - w0))
  MR_OUT=$(cat "$WORK/client.out")
}

round_load_figures() {  # server_ticks client_ticks -> "busy_s busy_c steal other% client_cpu_s"
  # other: CPU time (both CPUs) that neither the server nor the client used during the run, in %
  # of one CPU; steal: the hypervisor's, max of the two CPUs.
  local busy_s busy_c steal proc_ticks other wcpu
  read -r busy_s busy_c steal proc_ticks < <(cpu_busy "$WORK/stat0" "$WORK/stat1")
  other=$(awk -v p="$proc_ticks" -v s="$1" -v w="$2" -v hz="$CLK_TCK" -v d="$DURATION" \
    'BEGIN {o = (p - s - w) / hz; if (o < 0) o = 0; printf "%.0f", 100 * o / d}')
  wcpu=$(awk -v t="$2" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
  echo "$busy_s $busy_c $steal $other $wcpu"
}

h2_round() {
  local scen=$1 s=$2 r=$3 pid=${SRV_PID[$2]} spec args url out c0 c1 rps total cpu rpc errs
  local busy_s busy_c steal other wcpu proto bytes gbps bpc
  spec=$(h2_args "$scen" "$s")
  args=${spec%%|*}
  url=${spec#*|}
  # One h2load run: --warm-up-time WARMUP (connections and TLS handshakes happen there), then
  # DURATION measured. h2load prints a line when its measured period starts and ends; server and
  # h2load CPU times and /proc/stat are read at those two lines.
  # shellcheck disable=SC2086
  marked_run "$pid" '^Main benchmark duration is started' '^Main benchmark duration is over' \
    $((WARMUP + DURATION + 30)) h2load $args --warm-up-time="$WARMUP" -D "$DURATION" "$url"
  c0=$MR_C0 c1=$MR_C1 out=$MR_OUT
  if [[ -z $c1 ]]; then
    { echo "=== $scen $s round $r: h2load $args --warm-up-time=$WARMUP -D $DURATION $url"; echo "$out"; } >>"$LOG"
    note "$scen $s round $r: h2load did not report its measured period (see $LOG)"
    printf 'load\t%s\t%s\t%s\t\t\t\t\t1\t\t\n' "$scen" "$s" "$r" >>"$RAW"
    return 0
  fi
  read -r busy_s busy_c steal other wcpu < <(round_load_figures $((c1 - c0)) "$MR_W")
  { echo "=== $scen $s round $r: h2load $args --warm-up-time=$WARMUP -D $DURATION $url"; grep -v '^progress:' <<<"$out"; } >>"$LOG"
  proto=$(awk -F': ' '/^Application protocol:/ {print $2; exit}' <<<"$out")
  rps=$(awk '/^finished in / {print $4; exit}' <<<"$out")
  total=$(awk '/^requests: / {print $6; exit}' <<<"$out")   # "done"
  # failed + errored + timeout, and every non-2xx status
  errs=$(awk '/^requests: / {e += $10 + $12 + $14} /^status codes: / {e += $5 + $7 + $9} END {print e + 0}' <<<"$out")
  bytes=$(awk '/^traffic: / {v = $(NF - 1); gsub(/[()]/, "", v); print v; exit}' <<<"$out")
  if [[ -z $rps || -z $total || ( $proto != h2 && $proto != h2c ) ]]; then
    note "$scen $s round $r: h2load failed${proto:+ (protocol $proto)} (see $LOG)"
    printf 'load\t%s\t%s\t%s\t\t\t\t\t1\t\t\n' "$scen" "$s" "$r" >>"$RAW"
    return 0
  fi
  ((total > 0)) || errs=$((errs + 1))
  cpu=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
  rpc=$(awk -v n="$total" -v c="$cpu" 'BEGIN {if (c > 0) printf "%.0f", n / c; else print ""}')
  if [[ $scen == h2file* ]]; then
    # body bytes: h2load's "data" figure (DATA frame payloads), counted during the -D period,
    # which is also what h2load divides by for req/s
    gbps=$(awk -v b="$bytes" -v t="$DURATION" 'BEGIN {printf "%.3f", b / t / 1e9}')
    bpc=$(awk -v n="$bytes" -v c="$cpu" 'BEGIN {if (c > 0) printf "%.0f", n / c; else print ""}')
    printf 'load\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$s" "$r" "$rps" "$total" \
      "$cpu" "$rpc" "$errs" "$busy_s" "$busy_c" "$steal" "$wcpu" "$other" "$bytes" "$gbps" "$bpc" >>"$RAW"
    printf '  %-11s %-8s round %d: %6.3f GB/s, %7.0f resp/s, server %5.2f CPU-s, %6s GB/CPU-s | h2load %5.2f CPU-s, other processes %3s%%, steal %s%%%s\n' \
      "$scen" "$s" "$r" "$gbps" "$rps" "$cpu" "$(awk -v b="${bpc:-0}" 'BEGIN {printf "%.2f", b / 1e9}')" "$wcpu" "$other" "$steal" \
      "$(if ((errs)); then echo ", $errs errors"; fi)" | tee -a "$LOG" >&2
  else
    printf 'load\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$s" "$r" "$rps" "$total" "$cpu" "$rpc" "$errs" \
      "$busy_s" "$busy_c" "$steal" "$wcpu" "$other" >>"$RAW"
    printf '  %-11s %-8s round %d: %8.0f req/s, server %5.2f CPU-s, %7s req/CPU-s | h2load %5.2f CPU-s, other processes %3s%%, steal %s%%%s\n' \
      "$scen" "$s" "$r" "$rps" "$cpu" "${rpc:--}" "$wcpu" "$other" "$steal" \
      "$(if ((errs)); then echo ", $errs errors"; fi)" | tee -a "$LOG" >&2
  fi
  if awk -v st="$steal" -v o="$other" 'BEGIN {exit !(st > 5 || o > 10)}'; then
    note "warning: $scen $s round $r: other processes used ${other}% of a CPU, steal ${steal}%: the machine is not quiet"
  fi
}

# WebSocket echo: bench/ws_load on the same connections for WARMUP s, then DURATION s measured
# (it prints START and END around that period); one binary message in flight per connection,
# every echo checked byte for byte. wsN: N connections, WS_SMALL-byte messages; wsNk / wsNm[cC]:
# N KiB / MiB messages on WS_CONNS (or C) connections.
ws_conns() {  # scenario -> connections
  if [[ $1 =~ ^ws([0-9]+)$ ]]; then echo $((10#${BASH_REMATCH[1]}))
  elif [[ $1 =~ c([0-9]+)$ ]]; then echo $((10#${BASH_REMATCH[1]}))
  else echo "$WS_CONNS"; fi
}
ws_bytes() {  # scenario -> message payload bytes
  if [[ $1 =~ ^ws([0-9]+)([km]) ]]; then
    if [[ ${BASH_REMATCH[2]} == k ]]; then echo $((10#${BASH_REMATCH[1]} * 1024)); else echo $((10#${BASH_REMATCH[1]} * 1048576)); fi
  else
    echo "$WS_SMALL"
  fi
}
ws_args() {  # scenario -> ws_load arguments (without -p, -w, -d, -t)
  echo "-c $(ws_conns "$1") -s $(ws_bytes "$1") -u /ws/echo"
}

ws_round() {
  local scen=$1 s=$2 r=$3 pid=${SRV_PID[$2]} args out line c0 c1 cpu msgs bytes rtps mbps errs conns
  local rpc bpc gbps busy_s busy_c steal other wcpu
  args=$(ws_args "$scen")
  # shellcheck disable=SC2086
  marked_run "$pid" '^START$' '^END$' $((WARMUP + DURATION + 40)) "$WS_LOAD_BIN" $args -p "${PORT[$s]}" \
    -w "$WARMUP" -d "$DURATION" -t $((WARMUP + DURATION + 30))
  c0=$MR_C0 c1=$MR_C1 out=$MR_OUT
  { echo "=== $scen $s round $r: ws_load $args -p ${PORT[$s]} -w $WARMUP -d $DURATION (exit $MR_RC)"; echo "$out"; } >>"$LOG"
  line=$(grep -m1 '^RESULT ' <<<"$out" || true)
  if [[ -z $c1 || -z $line ]]; then
    note "$scen $s round $r: ws_load failed (exit $MR_RC; see $LOG)"
    printf 'load\t%s\t%s\t%s\t\t\t\t\t1\t\t\n' "$scen" "$s" "$r" >>"$RAW"
    return 0
  fi
  read -r busy_s busy_c steal other wcpu < <(round_load_figures $((c1 - c0)) "$MR_W")
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  msgs=$(field messages); bytes=$(field bytes); rtps=$(field rtps); mbps=$(field mbps)
  errs=$(field errors); conns=$(field conns)
  ((errs > 0 || MR_RC == 0)) || errs=1              # a non-zero exit without counted errors
  ((conns == $(ws_conns "$scen"))) || errs=$((errs + 1))  # a connection lost
  cpu=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
  rpc=$(awk -v n="$msgs" -v c="$cpu" 'BEGIN {if (c > 0) printf "%.0f", n / c; else print ""}')
  bpc=$(awk -v n="$bytes" -v c="$cpu" 'BEGIN {if (c > 0) printf "%.0f", n / c; else print ""}')
  gbps=$(awk -v m="$mbps" 'BEGIN {printf "%.6f", m / 1000}')
  printf 'load\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$s" "$r" "$rtps" "$msgs" \
    "$cpu" "$rpc" "$errs" "$busy_s" "$busy_c" "$steal" "$wcpu" "$other" "$bytes" "$gbps" "$bpc" "$mbps" >>"$RAW"
  printf '  %-7s %-8s round %d: %8.0f round trips/s, %8.1f MB/s, server %5.2f CPU-s, %7s msg/CPU-s | ws_load %5.2f CPU-s, other processes %3s%%, steal %s%%%s\n' \
    "$scen" "$s" "$r" "$rtps" "$mbps" "$cpu" "${rpc:--}" "$wcpu" "$other" "$steal" \
    "$(if ((errs)); then echo ", $errs errors"; fi)" | tee -a "$LOG" >&2
  if awk -v st="$steal" -v o="$other" 'BEGIN {exit !(st > 5 || o > 10)}'; then
    note "warning: $scen $s round $r: other processes used ${other}% of a CPU, steal ${steal}%: the machine is not quiet"
  fi
}

# gRPC: bench/grpc_load against grpc.testing.TestService over h2c, on the same connections for
# WARMUP s, then DURATION s measured (it prints START and END around that period, as ws_load
# does). grpc_unary: UnaryCall after UnaryCall on each stream slot; grpc_stream: one
# FullDuplexCall per slot, ping-pong. Every response is checked (grpc-status 0, the message byte
# for byte); GRPC_CONNS x GRPC_STREAMS calls at once, or C x S for grpc_*_CxS.
grpc_shape() {  # scenario -> "CONNS STREAMS"
  if [[ $1 =~ _([0-9]+)x([0-9]+)$ ]]; then echo "$((10#${BASH_REMATCH[1]})) $((10#${BASH_REMATCH[2]}))"
  else echo "$GRPC_CONNS $GRPC_STREAMS"; fi
}
grpc_args() {  # scenario -> grpc_load arguments (without -p, -w, -d, -t)
  local mode=${1#grpc_} c m
  mode=${mode%%_*}
  read -r c m < <(grpc_shape "$1")
  echo "-m $mode -c $c -s $m -b $GRPC_BYTES"
}

grpc_round() {
  local scen=$1 s=$2 r=$3 pid=${SRV_PID[$2]} args out line c0 c1 cpu count rate errs conns calls c m
  local rpc busy_s busy_c steal other wcpu
  args=$(grpc_args "$scen")
  read -r c m < <(grpc_shape "$scen")
  # shellcheck disable=SC2086
  marked_run "$pid" '^START$' '^END$' $((WARMUP + DURATION + 40)) "$GRPC_LOAD_BIN" $args -p "${PORT[$s]}" \
    -w "$WARMUP" -d "$DURATION" -t $((WARMUP + DURATION + 30))
  c0=$MR_C0 c1=$MR_C1 out=$MR_OUT
  { echo "=== $scen $s round $r: grpc_load $args -p ${PORT[$s]} -w $WARMUP -d $DURATION (exit $MR_RC)"; echo "$out"; } >>"$LOG"
  line=$(grep -m1 '^RESULT ' <<<"$out" || true)
  if [[ -z $c1 || -z $line ]]; then
    note "$scen $s round $r: grpc_load failed (exit $MR_RC; see $LOG)"
    printf 'load\t%s\t%s\t%s\t\t\t\t\t1\t\t\n' "$scen" "$s" "$r" >>"$RAW"
    return 0
  fi
  read -r busy_s busy_c steal other wcpu < <(round_load_figures $((c1 - c0)) "$MR_W")
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  count=$(field count); rate=$(field rate); errs=$(field errors); conns=$(field conns); calls=$(field calls)
  ((errs > 0 || MR_RC == 0)) || errs=1      # a non-zero exit without counted errors
  ((conns == c)) || errs=$((errs + 1))      # a connection lost
  ((calls == c * m)) || errs=$((errs + 1))  # fewer calls open than asked for
  ((count > 0)) || errs=$((errs + 1))
  cpu=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
  rpc=$(awk -v n="$count" -v c="$cpu" 'BEGIN {if (c > 0) printf "%.0f", n / c; else print ""}')
  printf 'load\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$s" "$r" "$rate" "$count" "$cpu" "$rpc" "$errs" \
    "$busy_s" "$busy_c" "$steal" "$wcpu" "$other" >>"$RAW"
  printf '  %-11s %-12s round %d: %8.0f %s/s, server %5.2f CPU-s, %7s per CPU-s | grpc_load %5.2f CPU-s, other processes %3s%%, steal %s%%%s\n' \
    "$scen" "$s" "$r" "$rate" "$([[ $scen == grpc_unary* ]] && echo calls || echo msgs)" "$cpu" "${rpc:--}" "$wcpu" "$other" "$steal" \
    "$(if ((errs)); then echo ", $errs errors"; fi)" | tee -a "$LOG" >&2
  if awk -v st="$steal" -v o="$other" 'BEGIN {exit !(st > 5 || o > 10)}'; then
    note "warning: $scen $s round $r: other processes used ${other}% of a CPU, steal ${steal}%: the machine is not quiet"
  fi
}

LOAD_SCENS=()  # all load scenarios
WRK_SCENS=()   # kaN, pipeD: req/s
FILE_SCENS=()  # fileN*: GB/s
WS_SCENS=()    # wsN*: round trips/s and MB/s
GRPC_SCENS=()  # grpc_*: calls/s or messages/s
for scen in $SCENARIOS; do
  case $scen in
    idle) ;;
    file* | h2file*) LOAD_SCENS+=("$scen"); FILE_SCENS+=("$scen") ;;
    ws*) LOAD_SCENS+=("$scen"); WS_SCENS+=("$scen") ;;
    grpc_*) LOAD_SCENS+=("$scen"); GRPC_SCENS+=("$scen") ;;
    *) LOAD_SCENS+=("$scen"); WRK_SCENS+=("$scen") ;;
  esac
done
if ((${#LOAD_SCENS[@]})); then
  for s in "${ACTIVE[@]}"; do start_server "$s"; done
  for scen in "${LOAD_SCENS[@]}"; do
    case $scen in
      file*) note "scenario $scen: bigfile_client $(file_args "$scen")" ;;
      ws*) note "scenario $scen: ws_load $(ws_args "$scen") (servers: $(scen_servers "$scen" | paste -sd' '))" ;;
      grpc_*) note "scenario $scen: grpc_load $(grpc_args "$scen") (servers: $(scen_servers "$scen" | paste -sd' '))" ;;
      h2*) note "scenario $scen: h2load $(h2_args "$scen" portico | sed 's/|.*//') (URL per server: $(h2_args "$scen" portico | sed 's/.*|//; s/:[0-9][0-9]*\//:PORT\//'))" ;;
      *) note "scenario $scen: wrk $(wrk_args "$scen")" ;;
    esac
    for ((r = 1; r <= ROUNDS; r++)); do
      for s in $(scen_servers "$scen"); do
        case $scen in
          file*) file_round "$scen" "$s" "$r" ;;
          ws*) ws_round "$scen" "$s" "$r" ;;
          grpc_*) grpc_round "$scen" "$s" "$r" ;;
          h2*) h2_round "$scen" "$s" "$r" ;;
          *) load_round "$scen" "$s" "$r" ;;
        esac
      done
    done
  done
  for s in "${ACTIVE[@]}"; do stop_server "$s"; done
fi

# ---------------------------------------------------------------------------------------------
# Medians, table, JSON, chart
median() {  # kind scenario server column -> median over rounds, or '-'
  awk -F'\t' -v k="$1" -v sc="$2" -v sv="$3" -v col="$4" \
    'NR > 1 && $1 == k && $2 == sc && $3 == sv && $col != "" && $col != "-" {print $col}' "$RAW" |
    sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b}'; }
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN {if (v == "-") print "-"; else printf "%.*f", d, v}'; }
usreq() { awk -v v="$1" 'BEGIN {if (v == "-" || v == 0) print "-"; else printf "%.2f", 1e6 / v}'; }

declare -A MED
for scen in $SCENARIOS; do
  for s in $(scen_peers "$scen"); do
    if [[ $scen == idle ]]; then
      MED[$scen.$s.mem]=$(median idle idle "$s" 10)
      MED[$scen.$s.open]=$(median idle idle "$s" 11)
    else
      MED[$scen.$s.rps]=$(median load "$scen" "$s" 5)
      MED[$scen.$s.cpu]=$(median load "$scen" "$s" 7)
      MED[$scen.$s.rpc]=$(median load "$scen" "$s" 8)
      if [[ $scen == file* || $scen == h2file* ]]; then
        MED[$scen.$s.gbps]=$(median load "$scen" "$s" 18)
        MED[$scen.$s.bpc]=$(median load "$scen" "$s" 19)
        MED[$scen.$s.gbpc]=$(awk -v b="${MED[$scen.$s.bpc]}" 'BEGIN {if (b == "-") print "-"; else printf "%.3f", b / 1e9}')
      elif [[ $scen == ws* ]]; then
        MED[$scen.$s.mbps]=$(median load "$scen" "$s" 20)
        MED[$scen.$s.bpc]=$(median load "$scen" "$s" 19)
        MED[$scen.$s.mbpc]=$(awk -v b="${MED[$scen.$s.bpc]}" 'BEGIN {if (b == "-") print "-"; else printf "%.1f", b / 1e6}')
      fi
      MED[$scen.$s.err]=$(awk -F'\t' -v sc="$scen" -v sv="$s" 'NR > 1 && $1 == "load" && $2 == sc && $3 == sv {e += $9} END {print e + 0}' "$RAW")
    fi
  done
done

{
  echo
  echo "Portico benchmark, $TS (median of $ROUNDS rounds, ${DURATION}s each)"
  echo "machine: $CPU_MODEL, $NCPU CPUs, kernel $KERNEL; ${NGINX_V:-}; ${H2O_V:-}; ${WRK_V:-}; ${H2LOAD_V:-}"
  ((NEED_GRPC)) && echo "grpc peer: ${GRPC_CPP_V:-grpc_cpp n/a}; bench/grpc_load on libnghttp2 ${NGHTTP2_V:-?}"
  ((NEED_WS)) && echo "websocket peers: ${NODE_V:-node n/a} ${WS_V}; ${PYWS_V:-python3-websockets n/a}"
  if ((${#WRK_SCENS[@]})); then
    echo
    printf '%-12s %12s %12s %12s %9s %9s\n' "req/s" portico nginx h2o "p/nginx" "p/h2o"
    for scen in "${WRK_SCENS[@]}"; do
      printf '%-12s %12s %12s %12s %9s %9s\n' "$scen" "$(fmt "${MED[$scen.portico.rps]}")" \
        "$(fmt "${MED[$scen.nginx.rps]}")" "$(fmt "${MED[$scen.h2o.rps]}")" \
        "$(ratio "${MED[$scen.portico.rps]}" "${MED[$scen.nginx.rps]}")" \
        "$(ratio "${MED[$scen.portico.rps]}" "${MED[$scen.h2o.rps]}")"
    done
    echo
    printf '%-12s %12s %12s %12s | %-26s\n' "CPU-s" portico nginx h2o "req per server CPU-second"
    for scen in "${WRK_SCENS[@]}"; do
      printf '%-12s %12s %12s %12s | %8s %8s %8s   %5s %5s\n' "$scen" "$(fmt "${MED[$scen.portico.cpu]}" 2)" \
        "$(fmt "${MED[$scen.nginx.cpu]}" 2)" "$(fmt "${MED[$scen.h2o.cpu]}" 2)" \
        "$(fmt "${MED[$scen.portico.rpc]}")" "$(fmt "${MED[$scen.nginx.rpc]}")" "$(fmt "${MED[$scen.h2o.rpc]}")" \
        "$(ratio "${MED[$scen.portico.rpc]}" "${MED[$scen.nginx.rpc]}")" \
        "$(ratio "${MED[$scen.portico.rpc]}" "${MED[$scen.h2o.rpc]}")"
    done
    echo "(the last two columns: portico/nginx and portico/h2o in requests per CPU-second)"
    echo
    printf '%-12s %12s %12s %12s\n' "CPU-us/req" portico nginx h2o
    for scen in "${WRK_SCENS[@]}"; do
      printf '%-12s %12s %12s %12s\n' "$scen" "$(usreq "${MED[$scen.portico.rpc]}")" \
        "$(usreq "${MED[$scen.nginx.rpc]}")" "$(usreq "${MED[$scen.h2o.rpc]}")"
    done
    echo "(server CPU microseconds per request: 10^6 / requests per CPU-second)"
  fi
  if ((${#FILE_SCENS[@]})); then
    echo
    printf '%-12s %12s %12s %12s %9s %9s\n' "GB/s" portico nginx h2o "p/nginx" "p/h2o"
    for scen in "${FILE_SCENS[@]}"; do
      printf '%-12s %12s %12s %12s %9s %9s\n' "$scen" "$(fmt "${MED[$scen.portico.gbps]}" 3)" \
        "$(fmt "${MED[$scen.nginx.gbps]}" 3)" "$(fmt "${MED[$scen.h2o.gbps]}" 3)" \
        "$(ratio "${MED[$scen.portico.gbps]}" "${MED[$scen.nginx.gbps]}")" \
        "$(ratio "${MED[$scen.portico.gbps]}" "${MED[$scen.h2o.gbps]}")"
    done
    echo
    printf '%-12s %12s %12s %12s | %-26s\n' "CPU-s" portico nginx h2o "GB per server CPU-second"
    for scen in "${FILE_SCENS[@]}"; do
      printf '%-12s %12s %12s %12s | %8s %8s %8s   %5s %5s\n' "$scen" "$(fmt "${MED[$scen.portico.cpu]}" 2)" \
        "$(fmt "${MED[$scen.nginx.cpu]}" 2)" "$(fmt "${MED[$scen.h2o.cpu]}" 2)" \
        "$(fmt "${MED[$scen.portico.gbpc]}" 2)" "$(fmt "${MED[$scen.nginx.gbpc]}" 2)" "$(fmt "${MED[$scen.h2o.gbpc]}" 2)" \
        "$(ratio "${MED[$scen.portico.bpc]}" "${MED[$scen.nginx.bpc]}")" \
        "$(ratio "${MED[$scen.portico.bpc]}" "${MED[$scen.h2o.bpc]}")"
    done
    echo "(GB = 10^9 bytes of response body; fileN*: HTTP/1.1, bench/bigfile_client, $FILE_CONNS keep-alive"
    echo " connections or C for fileN*cC; h2fileN*: h2c, h2load, one stream at a time on 1 (or C) connections;"
    echo " the last two columns: portico/nginx and portico/h2o in bytes per CPU-second)"
  fi
  if ((${#WS_SCENS[@]})); then
    echo
    printf '%-12s %12s %12s %12s %9s %9s\n' "round trip/s" portico node python "p/node" "p/python"
    for scen in "${WS_SCENS[@]}"; do
      printf '%-12s %12s %12s %12s %9s %9s\n' "$scen" "$(fmt "${MED[$scen.portico.rps]}")" \
        "$(fmt "${MED[$scen.node.rps]}")" "$(fmt "${MED[$scen.python.rps]}")" \
        "$(ratio "${MED[$scen.portico.rps]}" "${MED[$scen.node.rps]}")" \
        "$(ratio "${MED[$scen.portico.rps]}" "${MED[$scen.python.rps]}")"
    done
    echo
    printf '%-12s %12s %12s %12s %9s %9s\n' "MB/s" portico node python "p/node" "p/python"
    for scen in "${WS_SCENS[@]}"; do
      printf '%-12s %12s %12s %12s %9s %9s\n' "$scen" "$(fmt "${MED[$scen.portico.mbps]}" 1)" \
        "$(fmt "${MED[$scen.node.mbps]}" 1)" "$(fmt "${MED[$scen.python.mbps]}" 1)" \
        "$(ratio "${MED[$scen.portico.mbps]}" "${MED[$scen.node.mbps]}")" \
        "$(ratio "${MED[$scen.portico.mbps]}" "${MED[$scen.python.mbps]}")"
    done
    echo
    printf '%-12s %12s %12s %12s | %-26s\n' "CPU-s" portico node python "round trips per server CPU-second"
    for scen in "${WS_SCENS[@]}"; do
      printf '%-12s %12s %12s %12s | %8s %8s %8s   %5s %5s\n' "$scen" "$(fmt "${MED[$scen.portico.cpu]}" 2)" \
        "$(fmt "${MED[$scen.node.cpu]}" 2)" "$(fmt "${MED[$scen.python.cpu]}" 2)" \
        "$(fmt "${MED[$scen.portico.rpc]}")" "$(fmt "${MED[$scen.node.rpc]}")" "$(fmt "${MED[$scen.python.rpc]}")" \
        "$(ratio "${MED[$scen.portico.rpc]}" "${MED[$scen.node.rpc]}")" \
        "$(ratio "${MED[$scen.portico.rpc]}" "${MED[$scen.python.rpc]}")"
    done
    echo "(WebSocket echo, bench/ws_load: one binary message in flight per connection; wsN: N connections,"
    echo " $WS_SMALL-byte messages; wsNk: N KiB messages on $WS_CONNS connections (or C for ...cC); MB = 10^6 bytes"
    echo " of payload echoed back; the last two columns: portico/node and portico/python per CPU-second)"
  fi
  if ((${#GRPC_SCENS[@]})); then
    echo
    printf '%-18s %12s %12s %11s\n' "gRPC per second" portico "grpc C++" "p/grpc_cpp"
    for scen in "${GRPC_SCENS[@]}"; do
      printf '%-18s %12s %12s %11s\n' "$scen" "$(fmt "${MED[$scen.portico_grpc.rps]}")" \
        "$(fmt "${MED[$scen.grpc_cpp.rps]}")" "$(ratio "${MED[$scen.portico_grpc.rps]}" "${MED[$scen.grpc_cpp.rps]}")"
    done
    echo
    printf '%-18s %12s %12s | %-26s\n' "CPU-s" portico "grpc C++" "per server CPU-second"
    for scen in "${GRPC_SCENS[@]}"; do
      printf '%-18s %12s %12s | %8s %8s   %5s\n' "$scen" "$(fmt "${MED[$scen.portico_grpc.cpu]}" 2)" \
        "$(fmt "${MED[$scen.grpc_cpp.cpu]}" 2)" "$(fmt "${MED[$scen.portico_grpc.rpc]}")" "$(fmt "${MED[$scen.grpc_cpp.rpc]}")" \
        "$(ratio "${MED[$scen.portico_grpc.rpc]}" "${MED[$scen.grpc_cpp.rpc]}")"
    done
    echo
    printf '%-18s %12s %12s\n' "CPU-us per call" portico "grpc C++"
    for scen in "${GRPC_SCENS[@]}"; do
      printf '%-18s %12s %12s\n' "$scen" "$(usreq "${MED[$scen.portico_grpc.rpc]}")" "$(usreq "${MED[$scen.grpc_cpp.rpc]}")"
    done
    echo "(bench/grpc_load, grpc.testing.TestService over h2c, $GRPC_BYTES-byte payloads each way; grpc_unary: UnaryCalls"
    echo " per second; grpc_stream: response messages per second, ping-pong on long FullDuplexCalls; ${GRPC_CONNS} x"
    echo " ${GRPC_STREAMS} concurrent calls (connections x streams) unless _CxS; gRPC C++ with $GRPC_CPP_THREADS completion-queue"
    echo " thread(s); CPU-us per call: per message for grpc_stream; the last column: portico/grpc C++ per CPU-second)"
  fi
  if ((${#LOAD_SCENS[@]})); then
    for scen in "${LOAD_SCENS[@]}"; do
      for s in $(scen_peers "$scen"); do
        e=${MED[$scen.$s.err]}
        if ((e > 0)); then echo "warning: $scen $s: $e socket errors, non-2xx or short responses (see $LOG)"; fi
      done
    done
  fi
  if [[ " $SCENARIOS " == *" idle "* ]]; then
    echo
    printf '%-12s %12s %12s %12s %9s %9s\n' "B/idle" portico nginx h2o "p/nginx" "p/h2o"
    printf '%-12s %12s %12s %12s %9s %9s\n' "conn" "$(fmt "${MED[idle.portico.mem]}")" \
      "$(fmt "${MED[idle.nginx.mem]}")" "$(fmt "${MED[idle.h2o.mem]}")" \
      "$(ratio "${MED[idle.portico.mem]}" "${MED[idle.nginx.mem]}")" \
      "$(ratio "${MED[idle.portico.mem]}" "${MED[idle.h2o.mem]}")"
    echo "(server RSS growth per idle keep-alive connection, $IDLE_CONNS connections; kernel socket memory not included)"
  fi
  echo
} | tee -a "$LOG"

# Summary for the chart: metric scenario portico nginx h2o
{
  printf '# metric\tscenario\tportico\tnginx\th2o\n'
  for scen in "${WRK_SCENS[@]}"; do
    printf 'rps\t%s\t%s\t%s\t%s\n' "$scen" "${MED[$scen.portico.rps]}" "${MED[$scen.nginx.rps]}" "${MED[$scen.h2o.rps]}"
  done
  for scen in "${WRK_SCENS[@]}"; do
    printf 'rpc\t%s\t%s\t%s\t%s\n' "$scen" "${MED[$scen.portico.rpc]}" "${MED[$scen.nginx.rpc]}" "${MED[$scen.h2o.rpc]}"
  done
  for scen in "${FILE_SCENS[@]}"; do
    printf 'gbps\t%s\t%s\t%s\t%s\n' "$scen" "${MED[$scen.portico.gbps]}" "${MED[$scen.nginx.gbps]}" "${MED[$scen.h2o.gbps]}"
    printf 'gbpc\t%s\t%s\t%s\t%s\n' "$scen" "${MED[$scen.portico.gbpc]}" "${MED[$scen.nginx.gbpc]}" "${MED[$scen.h2o.gbpc]}"
  done
  if [[ " $SCENARIOS " == *" idle "* ]]; then
    printf 'mem\tidle\t%s\t%s\t%s\n' "${MED[idle.portico.mem]}" "${MED[idle.nginx.mem]}" "${MED[idle.h2o.mem]}"
  fi
  # gRPC: the third column is the gRPC C++ server, the fourth unused
  for scen in "${GRPC_SCENS[@]}"; do
    printf 'rps\t%s\t%s\t%s\t-\n' "$scen" "${MED[$scen.portico_grpc.rps]}" "${MED[$scen.grpc_cpp.rps]}"
  done
  for scen in "${GRPC_SCENS[@]}"; do
    printf 'rpc\t%s\t%s\t%s\t-\n' "$scen" "${MED[$scen.portico_grpc.rpc]}" "${MED[$scen.grpc_cpp.rpc]}"
  done
} >"$SUMMARY"

jstr() { local v=${1//\\/\\\\}; v=${v//\"/\\\"}; printf '"%s"' "$v"; }
jnum() { [[ $1 == - || -z $1 ]] && printf 'null' || printf '%s' "$1"; }
jrounds() {  # kind scenario server column -> JSON array over rounds
  awk -F'\t' -v k="$1" -v sc="$2" -v sv="$3" -v col="$4" \
    'NR > 1 && $1 == k && $2 == sc && $3 == sv {v = ($col == "" || $col == "-") ? "null" : $col; s = s (n++ ? ", " : "") v} END {printf "[%s]", s}' "$RAW"
}
{
  echo "{"
  echo "  \"timestamp\": $(jstr "$TS"),"
  echo "  \"machine\": {\"cpu\": $(jstr "$CPU_MODEL"), \"cpus\": $NCPU, \"memory\": $(jstr "$MEM_TOTAL"), \"os\": $(jstr "$OS"), \"kernel\": $(jstr "$KERNEL")},"
  echo "  \"versions\": {\"nginx\": $(jstr "$NGINX_V"), \"h2o\": $(jstr "$H2O_V"), \"wrk\": $(jstr "$WRK_V"), \"h2load\": $(jstr "$H2LOAD_V"), \"node\": $(jstr "$NODE_V"), \"ws\": $(jstr "$WS_V"), \"python_websockets\": $(jstr "$PYWS_V"), \"grpc_cpp\": $(jstr "$GRPC_CPP_V"), \"nghttp2\": $(jstr "$NGHTTP2_V"), \"portico\": $(jstr "$PORTICO_V")},"
  echo "  \"settings\": {\"rounds\": $ROUNDS, \"duration_s\": $DURATION, \"warmup_s\": $WARMUP, \"server_cpu\": $SERVER_CPU, \"client_cpu\": $CLIENT_CPU, \"pipe_conns\": $PIPE_CONNS, \"file_conns\": $FILE_CONNS, \"h2_streams\": $H2_STREAMS, \"idle_conns\": $IDLE_CONNS, \"ws_conns\": $WS_CONNS, \"ws_small\": $WS_SMALL, \"grpc_conns\": $GRPC_CONNS, \"grpc_streams\": $GRPC_STREAMS, \"grpc_bytes\": $GRPC_BYTES, \"grpc_cpp_threads\": $GRPC_CPP_THREADS, \"servers\": [$(printf '"%s",' "${ACTIVE[@]}" | sed 's/,$//')]},"
  echo "  \"scenarios\": {"
  first=1
  for scen in $SCENARIOS; do
    ((first)) || echo ","
    first=0
    printf '    "%s": {' "$scen"
    sfirst=1
    for s in $(scen_peers "$scen"); do
      ((sfirst)) || printf ', '
      sfirst=0
      if [[ $scen == ws* ]]; then
        printf '"%s": {"round_trips_per_s": %s, "mb_per_s": %s, "server_cpu_s": %s, "round_trips_per_cpu_s": %s, "bytes_per_cpu_s": %s, "errors": %s, "message_bytes": %s, "conns": %s, "rounds_round_trips_per_s": %s, "rounds_mb_per_s": %s}' "$s" \
          "$(jnum "${MED[$scen.$s.rps]}")" "$(jnum "${MED[$scen.$s.mbps]}")" "$(jnum "${MED[$scen.$s.cpu]}")" \
          "$(jnum "${MED[$scen.$s.rpc]}")" "$(jnum "${MED[$scen.$s.bpc]}")" "${MED[$scen.$s.err]}" \
          "$(ws_bytes "$scen")" "$(ws_conns "$scen")" "$(jrounds load "$scen" "$s" 5)" "$(jrounds load "$scen" "$s" 20)"
      elif [[ $scen == grpc_* ]]; then
        read -r gc gm < <(grpc_shape "$scen")
        printf '"%s": {"per_s": %s, "server_cpu_s": %s, "per_cpu_s": %s, "errors": %s, "unit": "%s", "conns": %s, "streams_per_conn": %s, "payload_bytes": %s, "rounds_per_s": %s}' "$s" \
          "$(jnum "${MED[$scen.$s.rps]}")" "$(jnum "${MED[$scen.$s.cpu]}")" "$(jnum "${MED[$scen.$s.rpc]}")" \
          "${MED[$scen.$s.err]}" "$([[ $scen == grpc_unary* ]] && echo calls || echo messages)" "$gc" "$gm" "$GRPC_BYTES" \
          "$(jrounds load "$scen" "$s" 5)"
      elif [[ $scen == idle ]]; then
        printf '"%s": {"bytes_per_idle_conn": %s, "open_conns": %s, "rounds_bytes_per_idle_conn": %s}' "$s" \
          "$(jnum "${MED[idle.$s.mem]}")" "$(jnum "${MED[idle.$s.open]}")" "$(jrounds idle idle "$s" 10)"
      elif [[ $scen == file* || $scen == h2file* ]]; then
        printf '"%s": {"gb_per_s": %s, "req_per_s": %s, "server_cpu_s": %s, "bytes_per_cpu_s": %s, "req_per_cpu_s": %s, "errors": %s, "file_bytes": %s, "conns": %s, "rounds_gb_per_s": %s}' "$s" \
          "$(jnum "${MED[$scen.$s.gbps]}")" "$(jnum "${MED[$scen.$s.rps]}")" "$(jnum "${MED[$scen.$s.cpu]}")" \
          "$(jnum "${MED[$scen.$s.bpc]}")" "$(jnum "${MED[$scen.$s.rpc]}")" "${MED[$scen.$s.err]}" \
          "$(file_bytes "$scen")" "$(file_conns "$scen")" "$(jrounds load "$scen" "$s" 18)"
      else
        printf '"%s": {"req_per_s": %s, "server_cpu_s": %s, "req_per_cpu_s": %s, "errors": %s, "rounds_req_per_s": %s}' "$s" \
          "$(jnum "${MED[$scen.$s.rps]}")" "$(jnum "${MED[$scen.$s.cpu]}")" "$(jnum "${MED[$scen.$s.rpc]}")" \
          "${MED[$scen.$s.err]}" "$(jrounds load "$scen" "$s" 5)"
      fi
    done
    printf '}'
  done
  echo
  echo "  }"
  echo "}"
} >"$JSON"

# Charts: HTTP/1.1 scenarios in one, HTTP/2 ones (with their HTTP/1.1 large-file references)
# in the other.
PNGS=()
for chart in http1 http2 grpc; do
  if [[ $chart == http1 ]]; then
    grep -qP '^(rps|rpc|gbps|mem)\t(?!h2|file[0-9]+[km]c|grpc_)' "$SUMMARY" || continue
    PNG=$RESULTS_DIR/http1-$TS.png
  elif [[ $chart == http2 ]]; then
    grep -qP '^(rps|rpc|gbps)\th2' "$SUMMARY" || continue
    PNG=$RESULTS_DIR/http2-$TS.png
  else
    grep -qP '^(rps|rpc)\tgrpc_' "$SUMMARY" || continue
    PNG=$RESULTS_DIR/grpc-$TS.png
  fi
  sub="$CPU_MODEL, $NCPU CPUs; $NGINX_V, $H2O_V; median of $ROUNDS x ${DURATION}s"
  [[ $chart == grpc ]] && sub="$CPU_MODEL, $NCPU CPUs; ${GRPC_CPP_V%% (*}, $GRPC_CPP_THREADS CQ thread(s); median of $ROUNDS x ${DURATION}s"
  if CHART=$chart H2_STREAMS=$H2_STREAMS PIPE_CONNS=$PIPE_CONNS IDLE_CONNS=$IDLE_CONNS FILE_CONNS=$FILE_CONNS \
    GRPC_CONNS=$GRPC_CONNS GRPC_STREAMS=$GRPC_STREAMS GRPC_BYTES=$GRPC_BYTES "$BENCH/chart.sh" "$SUMMARY" "$PNG" "$sub"; then
    PNGS+=("$PNG")
    if [[ $UPDATE_DOCS == 1 ]]; then
      mkdir -p "$ROOT/docs"
      cp "$PNG" "$ROOT/docs/benchmarks-$chart.png"
      note "chart copied to docs/benchmarks-$chart.png"
    fi
  else
    note "warning: $chart chart not drawn"
  fi
done
note "results: $JSON, $RAW, $LOG${PNGS[*]:+, ${PNGS[*]}}"
