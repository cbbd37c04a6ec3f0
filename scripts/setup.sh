#!/usr/bin/env bash
# Installs the Debian packages Portico needs to build, test and benchmark.
# Idempotent and non-interactive: only what is missing is installed.
#   scripts/setup.sh            build + test dependencies
#   scripts/setup.sh --bench    also the benchmark peers (nginx, h2o, wrk, gnuplot, libgrpc++ for
#                               the gRPC C++ server, libnghttp2-dev for bench/grpc_load); h2load,
#                               the HTTP/2 load generator, is in nghttp2-client (always installed)
# Node.js and npm (Debian's nodejs, npm) only when `node` / `npm` are not already in PATH: a
# node installed otherwise is kept. Then `npm ci` in tests/interop/node (the npm package ws for
# tests/interop/test_websocket_node.py and bench/ws_echo_node.js) when its node_modules is
# missing or older than package-lock.json; the packages @grpc/grpc-js and @grpc/proto-loader
# are for tests/interop/test_grpc_node.py.
set -euo pipefail

pkgs=(
  build-essential g++ cmake ninja-build ccache pkg-config
  clang libclang-rt-14-dev            # libFuzzer + sanitizer runtimes for tests/fuzz
  libssl-dev zlib1g-dev openssl      # openssl CLI: scripts/dev-cert.sh, tests/interop/test_tls.py
  libgtest-dev libgmock-dev libbenchmark-dev
  libprotobuf-dev protobuf-compiler  # gRPC: apps/grpc_interop_server message classes (protoc)
  curl nghttp2-client python3 python3-h2 python3-hyperframe   # nghttp2-client: nghttp, h2load
  iproute2 procps psmisc nftables   # nftables: tcpstat tests drop SYN-ACKs in a namespace
  python3-grpcio python3-protobuf   # gRPC interop tests (tests/interop/test_grpc.py)
  grpc-proto                        # health.proto, reflection.proto: src/grpc_reflection, test_grpc_health.py
  chromium python3-websockets       # status page and HTTP/2 browser tests: headless Chromium over DevTools
)
if [[ "${1:-}" == "--bench" ]]; then
  pkgs+=(nginx-light h2o wrk gnuplot-nox)   # nginx-light has the http_v2 and ssl modules
  # gRPC scenarios: the gRPC C++ server (bench/grpc_cpp_server: libgrpc++ and its protoc plugin)
  # and the load client (bench/grpc_load on libnghttp2)
  pkgs+=(libgrpc++-dev protobuf-compiler-grpc libnghttp2-dev)
fi

# Node.js: keep whatever node/npm is there (another packaging may provide both in one package).
if ! command -v node >/dev/null; then
  pkgs+=(nodejs npm)
elif ! command -v npm >/dev/null; then
  pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's nginx package starts a system nginx on port 80; the benchmark runs its own.
  if [[ " ${missing[*]} " == *" nginx-light "* ]] && command -v systemctl >/dev/null; then
    $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
fi

# npm packages for the interop tests and the WebSocket benchmark, exactly as locked.
NODE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/interop/node
if [[ -f $NODE_DIR/package-lock.json ]] &&
   [[ ! -d $NODE_DIR/node_modules || $NODE_DIR/package-lock.json -nt $NODE_DIR/node_modules ]]; then
  echo "setup: npm ci in tests/interop/node"
  (cd "$NODE_DIR" && timeout 600 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$NODE_DIR/node_modules"   # newer than the lock file: not run again until it changes
fi
