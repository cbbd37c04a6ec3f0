#!/usr/bin/env bash
# Draws the benchmark chart from a summary written by bench/run.sh.
#   bench/chart.sh SUMMARY.tsv OUT.png [SUBTITLE]
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

tmp=$(mktemp -d /tmp/portico-chart.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Scenario names -> axis labels: kaN "keep-alive, N conns", pipeD "pipelined xD", idle.
for m in rps rpc mem; do
  awk -F'\t' -v m="$m" '$1 == m {
      l = $2
      if (l ~ /^ka[0-9]+$/) l = "keep-alive\\n" substr(l, 3) " conns"
      else if (l ~ /^pipe[0-9]+$/) l = "pipelined x" substr(l, 5) "\\n" (pc != "" ? pc " conns" : "")
      else if (l == "idle") l = (ic != "" ? ic " idle conns" : "idle conns")
      print l "\t" $3 "\t" $4 "\t" $5
    }' pc="${PIPE_CONNS:-64}" ic="${IDLE_CONNS:-}" "$summary" >"$tmp/$m.dat"
done
# Large files: one panel, for each fileN* scenario a "GB/s" group and a "GB per CPU-s" group.
awk -F'\t' '$1 == "gbps" || $1 == "gbpc" {
    n = substr($2, 5, length($2) - 5); u = substr($2, length($2)) == "k" ? " KiB" : " MiB"
    l = n u " file\\n" ($1 == "gbps" ? "GB/s" : "GB per server CPU-s")
    print l "\t" $3 "\t" $4 "\t" $5
  }' "$summary" >"$tmp/file.dat"

panels=0
for m in rps rpc file mem; do [[ -s $tmp/$m.dat ]] && panels=$((panels + 1)); done
((panels)) || { echo "chart: nothing to draw in $summary" >&2; exit 1; }

subtitle=${subtitle//\"/\'}

plot_panel() {  # metric title ylabel divisor label-format
  local m=$1 title=$2 ylabel=$3 div=$4 lfmt=$5
  [[ -s $tmp/$m.dat ]] || return 0
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
  what="/hello.txt (13 bytes) and large files (${FILE_CONNS:-16} keep-alive conns)"
  [[ -s $tmp/rps.dat || -s $tmp/rpc.dat || -s $tmp/mem.dat ]] || what="large files (${FILE_CONNS:-16} keep-alive conns)"
fi

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
set multiplot layout $rows,$cols title "Portico vs nginx vs h2o, HTTP/1.1, $what\n{/*0.8 $subtitle}"
EOF
  plot_panel rps "Requests per second (higher is better)" "thousand req/s" 1000 "%.0fk"
  plot_panel rpc "Requests per server CPU-second (higher is better)" "thousand req / CPU-s" 1000 "%.0fk"
  plot_panel file "Large file, GB = 10^9 bytes of body (higher is better)" "GB/s  |  GB per server CPU-second" 1 "%.2f"
  plot_panel mem "Memory per idle keep-alive connection (lower is better)" "bytes (server RSS growth / conn)" 1 "%.0f"
  echo "unset multiplot"
} >"$tmp/chart.gp"

gnuplot "$tmp/chart.gp" 2> >(grep -v 'warning: Skipping data file with no valid points' >&2)
