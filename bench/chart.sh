#!/usr/bin/env bash
# Draws a benchmark chart from a summary written by bench/run.sh.
#   [CHART=http1|http2|grpc] bench/chart.sh SUMMARY.tsv OUT.png [SUBTITLE]
# CHART=http1 (the default) draws the HTTP/1.1 scenarios but fileN*cC, CHART=http2 the HTTP/2
# ones (h2*) with the HTTP/1.1 large-file scenarios on a given number of connections (fileN*cC),
# their reference, CHART=grpc the gRPC ones (grpc_*: Portico against the gRPC C++ server, whose
# figures stand in the nginx column of those lines).
# SUMMARY lines: metric<TAB>scenario<TAB>portico<TAB>nginx<TAB>h2o, metric one of
#   rps (requests/s), rpc (requests per server CPU-second), mem (bytes per idle connection),
#   gbps (GB/s of response body, large-file scenarios fileNk/fileNm),
#   gbpc (GB of response body per server CPU-second, same scenarios);
# '-' marks a value that was not measured.
# Panels: requests/s per scenario, requests per server CPU-second, large files (GB/s and GB per
# server CPU-second side by side), memory per idle connection. Up to 3 panels in a row, else 2x2.
set -euo pipefail

[[ $# -ge 2 ]] || { echo "usage: $0 SUMMARY.tsv OUT.png [SUBTITLE]" >&2; exit 2; }
summary=$1
out=$2
subtitle=${3:-}
command -v gnuplot >/dev/null || { echo "chart: gnuplot not found (scripts/setup.sh --bench)" >&2; exit 1; }

CHART=${CHART:-http1}
case $CHART in
  http1) keep='^(ka[0-9]+|pipe[0-9]+|idle|file[0-9]+[km])$'; proto="HTTP/1.1" ;;
  http2) keep='^h2|^file[0-9]+[km]c[0-9]+$'; proto="HTTP/2" ;;
  grpc) keep='^grpc_'; proto="gRPC" ;;
  *) echo "chart: CHART must be http1, http2 or grpc" >&2; exit 2 ;;
esac

tmp=$(mktemp -d /tmp/portico-chart.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
awk -F'\t' -v k="$keep" '$1 ~ /^#/ || $2 ~ k' "$summary" >"$tmp/summary.tsv"
summary=$tmp/summary.tsv

# Scenario names -> axis labels: kaN "keep-alive, N conns", pipeD "pipelined xD", idle,
# h2cNmM "h2c, N x M" (connections x streams each), h2tlsNmM "TLS, N x M".
for m in rps rpc mem; do
  awk -F'\t' -v m="$m" '$1 == m {
      l = $2
      if (l ~ /^ka[0-9]+$/) l = "keep-alive\\n" substr(l, 3) " conns"
      else if (match(l, /^h2(c|tls)[0-9]+/)) {
        t = substr(l, 3, 1) == "c" ? "h2c" : "TLS"; n = substr(l, t == "h2c" ? 4 : 6)
        sm = index(n, "m")
        l = t "\\n" (sm ? substr(n, 1, sm - 1) : n) " x " (sm ? substr(n, sm + 1) : hs)
      }
      else if (l ~ /^pipe[0-9]+$/) l = "pipelined x" substr(l, 5) "\\n" (pc != "" ? pc " conns" : "")
      else if (l == "idle") l = (ic != "" ? ic " idle conns" : "idle conns")
      else if (l ~ /^grpc_/) {
        k = substr(l, 6); sh = gc " x " gs
        if (match(k, /_[0-9]+x[0-9]+$/)) { sh = substr(k, RSTART + 1); sub(/x/, " x ", sh); k = substr(k, 1, RSTART - 1) }
        l = k "\\n" sh
      }
      print l "\t" $3 "\t" $4 "\t" $5
    }' pc="${PIPE_CONNS:-64}" ic="${IDLE_CONNS:-}" hs="${H2_STREAMS:-16}" gc="${GRPC_CONNS:-1}" gs="${GRPC_STREAMS:-64}" \
    "$summary" >"$tmp/$m.dat"
done
# Large files: one panel, for each fileN* scenario a "GB/s" group and a "GB per CPU-s" group.
awk -F'\t' -v fc="${FILE_CONNS:-16}" '$1 == "gbps" || $1 == "gbpc" {
    sc = $2; p = ""; c = fc
    if (sc ~ /^h2/) { sc = substr(sc, 3); p = "h2c"; c = 1 }
    else if (sc ~ /c[0-9]+$/) p = "HTTP/1.1"
    i = index(sc, "c"); if (i) { c = substr(sc, i + 1); sc = substr(sc, 1, i - 1) }
    n = substr(sc, 5, length(sc) - 5); u = substr(sc, length(sc)) == "k" ? " KiB" : " MiB"
    # HTTP/1.1 chart: "1 MiB file\nGB/s"; HTTP/2 chart: "1 MiB h2c\n1 conn\nGB/s"
    l = n u (p == "" ? " file\\n" : " " p "\\n" c " conn" (c == 1 ? "" : "s") "\\n") ($1 == "gbps" ? "GB/s" : "GB/CPU-s")
    print l "\t" $3 "\t" $4 "\t" $5
  }' "$summary" >"$tmp/file.dat"

panels=0
for m in rps rpc file mem; do [[ -s $tmp/$m.dat ]] && panels=$((panels + 1)); done
((panels)) || { echo "chart: nothing to draw in $summary" >&2; exit 1; }

subtitle=${subtitle//\"/\'}

plot_panel() {  # metric title ylabel divisor label-format
  local m=$1 title=$2 ylabel=$3 div=$4 lfmt=$5
  [[ -s $tmp/$m.dat ]] || return 0
  if [[ $CHART == grpc ]]; then  # two servers
    cat <<EOF
set title "$title"
set ylabel "$ylabel"
set yrange [0:*]
plot "$tmp/$m.dat" using (\$2/$div):xticlabels(stringcolumn(1)) title "portico" lc rgb "#d95f02", \
     "" using (\$3/$div) title "gRPC C++" lc rgb "#1b9e77", \
     "" using (\$0-0.2):(\$2/$div):(sprintf("$lfmt", \$2/$div)) with labels offset 0,0.6 font ",9" notitle, \
     "" using (\$0+0.2):(\$3/$div):(sprintf("$lfmt", \$3/$div)) with labels offset 0,0.6 font ",9" notitle
EOF
    return 0
  fi
  cat <<EOF
set title "$title"
set ylabel "$ylabel"
set yrange [0:*]
plot "$tmp/$m.dat" using (\$2/$div):xticlabels(stringcolumn(1)) title "portico" lc rgb "#d95f02", \
     "" using (\$3/$div) title "nginx" lc rgb "#1b9e77", \
     "" using (\$4/$div) title "h2o" lc rgb "#7570b3", \
     "" using (\$0-0.25):(\$2/$div):(sprintf("$lfmt", \$2/$div)) with labels offset 0,0.6 font ",9" notitle, \
     "" using (\$0):(\$3/$div):(sprintf("$lfmt", \$3/$div)) with labels offset 0,0.6 font ",9" notitle, \
     "" using (\$0+0.25):(\$4/$div):(sprintf("$lfmt", \$4/$div)) with labels offset 0,0.6 font ",9" notitle
EOF
}

cols=$panels rows=1
if ((panels > 3)); then cols=2 rows=$(((panels + 1) / 2)); fi
what="/hello.txt (13 bytes)"
if [[ -s $tmp/file.dat ]]; then
  what="/hello.txt (13 bytes) and large files"
  [[ -s $tmp/rps.dat || -s $tmp/rpc.dat || -s $tmp/mem.dat ]] || what="large files"
fi
[[ $CHART == http2 ]] && what="$what; h2load one thread"
title="Portico vs nginx vs h2o, $proto, $what"
[[ $CHART == grpc ]] && title="Portico vs the gRPC C++ server, grpc.testing.TestService over h2c, ${GRPC_BYTES:-32}-byte payloads; our load client, one thread"

{
  cat <<EOF
set terminal pngcairo size $((560 * cols)),$((480 * rows)) font "sans,10"
set output "$out"
set datafile separator "\t"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set grid ytics
set key top center horizontal
set bmargin 4
set offsets 0, 0, graph 0.2, 0
set multiplot layout $rows,$cols title "$title\n{/*0.8 $subtitle}"
EOF
  rps_title="Requests per second (higher is better)"
  rpc_title="Requests per server CPU-second (higher is better)"
  [[ $CHART == http2 ]] && rps_title="Requests per second; connections x streams each"
  if [[ $CHART == grpc ]]; then
    rps_title="Unary calls or stream messages per second; connections x calls"
    rpc_title="Calls or messages per server CPU-second (higher is better)"
  fi
  if [[ $CHART == grpc ]]; then
    plot_panel rps "$rps_title" "thousand per s" 1000 "%.1fk"
    plot_panel rpc "$rpc_title" "thousand per CPU-s" 1000 "%.1fk"
  else
    plot_panel rps "$rps_title" "thousand req/s" 1000 "%.0fk"
    plot_panel rpc "$rpc_title" "thousand req / CPU-s" 1000 "%.0fk"
  fi
  plot_panel file "Large file, GB = 10^9 bytes of body (higher is better)" "GB/s  |  GB per server CPU-second" 1 "%.2f"
  plot_panel mem "Memory per idle keep-alive connection (lower is better)" "bytes (server RSS growth / conn)" 1 "%.0f"
  echo "unset multiplot"
} >"$tmp/chart.gp"

gnuplot "$tmp/chart.gp" 2> >(grep -v 'warning: Skipping data file with no valid points' >&2)
