#!/usr/bin/env bash
# Pictures of CIFAR-10 runs, drawn by gnuplot from the CSV files the examples write:
#   cifar-plots.sh curves OUT.png RUN.csv[=Title] ...   validation (solid) and training
#                                                        (dashed) accuracy per epoch
#   cifar-plots.sh confusion OUT.png CONFUSION.csv [Title]   the test confusion matrix
# The run CSVs are dlsc-cifar-train's / dlsc-cifar-transfer's --csv files (columns run,
# epoch, train_loss, train_accuracy, validation_accuracy, seconds; a transfer CSV holds
# its phases one after another, which are drawn as one curve over the phases' epochs).
set -euo pipefail
command -v gnuplot >/dev/null || { echo "gnuplot is needed: apt-get install gnuplot-nox" >&2; exit 1; }
what=${1:-}; out=${2:-}
[ -n "$what" ] && [ -n "$out" ] && [ $# -ge 3 ] || { sed -n 2,7p "$0" >&2; exit 2; }
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case $what in
curves)
  plots=()
  colors=('#1f77b4' '#d62728' '#2ca02c' '#ff7f0e' '#9467bd' '#8c564b' '#e377c2' '#7f7f7f' '#bcbd22' '#17becf')
  i=0
  for arg in "$@"; do
    file=${arg%%=*}; title=${arg#*=}
    [ "$title" = "$arg" ] && title=$(basename "$file" .csv)
    title=${title//\'/\'\'} # a quote inside gnuplot's single-quoted string is doubled
    [ -r "$file" ] || { echo "cannot read $file" >&2; exit 1; }
    # renumber the epochs so that the phases of a transfer run follow each other
    awk -F, 'NR > 1 { n++; print n, $4 * 100, $5 * 100 }' "$file" > "$tmp/$i.dat"
    c=${colors[$((i % ${#colors[@]}))]}
    plots+=("'$tmp/$i.dat' using 1:3 with lines lw 2 lc rgb '$c' title '$title'")
    plots+=("'$tmp/$i.dat' using 1:2 with lines lw 1 dt 2 lc rgb '$c' notitle")
    i=$((i + 1))
  done
  joined=$(IFS=,; echo "${plots[*]}")
  gnuplot <<EOF
set terminal pngcairo size 1000,600 font 'sans,11'
set output '$out'
set title 'CIFAR-10: validation accuracy (solid) and training accuracy (dashed)'
set xlabel 'epoch (transfer runs: pretext, head, fine-tuning phases in turn)'
set ylabel 'accuracy (%)'
set yrange [0:100]
set grid
set key outside right
plot $joined
EOF
  ;;
confusion)
  file=$1; title=${2:-$(basename "$file" .csv)}
  title=${title//\'/\'\'}
  [ -r "$file" ] || { echo "cannot read $file" >&2; exit 1; }
  # rows: true class, columns: predicted; shown as the share of each true class
  awk -F, 'NR == 1 { for (j = 2; j <= NF; j++) name[j - 2] = $j; next }
           { t = 0; for (j = 2; j <= NF; j++) t += $j;
             for (j = 2; j <= NF; j++) print NR - 2, j - 2, (t ? 100 * $j / t : 0), $j }
           END { for (j in name) printf "%d %s\n", j, name[j] > "/dev/stderr" }' \
    "$file" > "$tmp/m.dat" 2> "$tmp/names"
  tics=$(sort -n "$tmp/names" | awk '{ printf "%s\"%s\" %d", (NR > 1 ? ", " : ""), $2, $1 }')
  gnuplot <<EOF
set terminal pngcairo size 800,700 font 'sans,10'
set output '$out'
set title '$title: test confusion (% of each true class)'
set xlabel 'predicted'
set ylabel 'true'
set xtics ($tics) rotate by 45 right
set ytics ($tics)
set yrange [9.5:-0.5]
set xrange [-0.5:9.5]
set cbrange [0:100]
set palette defined (0 'white', 100 '#08306b')
unset key
plot '$tmp/m.dat' using 2:1:3 with image, \
     '' using 2:1:(sprintf('%d', \$4)):(\$3 > 50 ? 0xffffff : 0) with labels tc rgb variable font 'sans,8'
EOF
  ;;
*) sed -n 2,7p "$0" >&2; exit 2 ;;
esac
echo "wrote $out"
