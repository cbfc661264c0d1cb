#!/usr/bin/env bash
# scripts/report.sh DATA_DIR OUT_DIR - draw the demo report.
#
# Reads the tab-separated files test/demo.sql writes (with -v report_dir=)
# from DATA_DIR, draws one PNG per chart with gnuplot and writes
# OUT_DIR/index.html, a self-contained page (the images are embedded) that
# says what each chart shows.  The PNGs are left next to it.
set -euo pipefail

DATA=${1:?usage: report.sh DATA_DIR OUT_DIR}
OUT=${2:?usage: report.sh DATA_DIR OUT_DIR}
mkdir -p "$OUT"
command -v gnuplot >/dev/null || { echo "error: gnuplot is not installed" >&2; exit 1; }

# common settings: a PNG of 900 x 520, tab-separated input, NULL as \N
plot() {
	local name=$1
	{
		cat <<-EOF
		set terminal pngcairo size 900,520 noenhanced font "sans,11" linewidth 1.5
		set output "$OUT/$name.png"
		set datafile separator "\t"
		set datafile missing "\\\\N"
		set border 3
		set xtics nomirror
		set ytics nomirror
		set grid ytics lc rgb "#cccccc"
		set key top right noopaque
		EOF
		cat
	} | gnuplot
}

plot stages <<EOF
set title "Customers per lifecycle stage (the job as of 1998-06-30)"
set xlabel "lifecycle stage (clm.stage_summary)"
set ylabel "customers"
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set style fill solid 0.85 border -1
set boxwidth 0.6
plot "$DATA/stages.tsv" using 0:2:xtic(1) with boxes lc rgb "#4477aa" notitle, \
	 "" using 0:2:(sprintf("%d (%.1f%%)", \$2, \$3)) with labels offset 0,0.8 notitle
EOF

plot segments <<EOF
set title "RFM segments: share of customers, of churned customers and of revenue (as of 1998-06-30)"
set ylabel "% of all customers / of all revenue"
set xlabel "RFM segment (quintile ranks against the other customers)"
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set xtics rotate by -30 left
set bmargin 7
plot "$DATA/segments.tsv" using 3:xtic(1) title "% of customers" lc rgb "#4477aa", \
	 "" using 6 title "% of customers, in the churned stage" lc rgb "#bbbbbb", \
	 "" using 4 title "% of revenue" lc rgb "#ee6677", \
	 "" using (\$0 - 0.27):3:(sprintf("%.0f", \$3)) with labels offset 0,0.7 notitle, \
	 "" using (\$0):6:(sprintf("%.0f", \$6)) with labels offset 0,0.7 notitle, \
	 "" using (\$0 + 0.27):4:(sprintf("%.0f", \$4)) with labels offset 0,0.7 notitle
EOF

plot abc <<EOF
set title "ABC classes: A = the customers making the first 80% of revenue, B = the next 15%"
set ylabel "% of all customers / of all revenue"
set xlabel "ABC class"
set yrange [0:100]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key top left
plot "$DATA/abc.tsv" using 3:xtic(1) title "% of customers" lc rgb "#4477aa", \
	 "" using 4 title "% of revenue" lc rgb "#ee6677", \
	 "" using (\$0 - 0.17):3:(sprintf("%.1f%%", \$3)) with labels offset 0,0.7 notitle, \
	 "" using (\$0 + 0.17):4:(sprintf("%.1f%%", \$4)) with labels offset 0,0.7 notitle
EOF

# cohort heat map: one row per weekly cohort, labelled with its first day
# and size
ytics=$(awk -F'\t' '!seen[$1]++ { printf "%s\"%s (%s)\" %s", (n++ ? ", " : ""), $4, $5, $1 }' "$DATA/cohorts.tsv")
plot cohorts <<EOF
set terminal pngcairo size 1000,560 noenhanced font "sans,11"
set output "$OUT/cohorts.png"
set title "Weekly acquisition cohorts: % of the cohort buying in each week after its first purchase"
set xlabel "weeks since the cohort's first purchase week (week 0 = 100%, off the colour scale)"
set ylabel "cohort: first purchase week (customers)"
set ytics ($ytics) font ",9"
set yrange [-0.5:*] reverse
set xrange [-0.5:*]
set grid noytics
set cbrange [0:15]
set cblabel "% of the cohort buying that week"
set palette defined (0 "#ffffff", 2 "#c6dbef", 5 "#6baed6", 10 "#2171b5", 15 "#08306b")
set style fill solid 1.0 noborder
plot "$DATA/cohorts.tsv" using 2:1:(0.5):(0.5):(\$3 > 15 ? 15 : \$3) with boxxyerror fc palette notitle
EOF

plot matrix <<EOF
set terminal pngcairo size 1100,500 noenhanced font "sans,11"
set output "$OUT/matrix.png"
set multiplot layout 1,2 title "BG/NBD fitted on the 39-week calibration period: customers observed for 39 weeks"
set style fill solid 1.0 noborder
set grid noytics
set xrange [-0.5:39.5]
set yrange [-0.5:*]
set xlabel "recency: weeks from first to last purchase"
set ylabel "frequency: repeat purchases"
set title "P(alive)"
set cbrange [0:1]
set palette defined (0 "#b2182b", 0.5 "#f7f7f7", 1 "#2166ac")
plot "$DATA/matrix.tsv" using 2:1:(0.5):(0.5):3 with boxxyerror fc palette notitle
set title "expected purchases in the next 39 weeks"
set cbrange [0:*]
set palette defined (0 "#ffffff", 1 "#6baed6", 2 "#08306b")
plot "$DATA/matrix.tsv" using 2:1:(0.5):(0.5):4 with boxxyerror fc palette notitle
unset multiplot
EOF

plot kpi_rates <<EOF
set title "Monthly KPI rates (active = a purchase in the last 90 days)"
set xdata time
set timefmt "%Y-%m-%d"
set format x "%b\n%Y"
set xlabel "month (points at the month's first day)"
set ylabel "% in the month"
set yrange [0:115]
set key outside bottom center horizontal
plot "$DATA/kpi.tsv" using 1:7 with linespoints pt 7 ps 0.6 lc rgb "#228833" title "retention", \
	 "" using 1:8 with linespoints pt 7 ps 0.6 lc rgb "#ee6677" title "churn", \
	 "" using 1:10 with linespoints pt 7 ps 0.6 lc rgb "#4477aa" title "win-back", \
	 "" using 1:9 with linespoints pt 7 ps 0.6 lc rgb "#aa3377" title "repeat purchase (buyers)", \
	 "$DATA/job_kpi.tsv" using 1:8 with linespoints dt 2 pt 6 ps 0.6 lc rgb "#ee6677" title "churn (job stages)"
EOF

plot kpi_counts <<EOF
set title "Customers per month (active = a purchase in the last 90 days)"
set xdata time
set timefmt "%Y-%m-%d"
set format x "%b\n%Y"
set xlabel "month (points at the month's first day)"
set ylabel "customers"
set yrange [0:*]
set key outside bottom center horizontal
plot "$DATA/kpi.tsv" using 1:2 with linespoints pt 7 ps 0.6 lc rgb "#4477aa" title "active at start", \
	 "" using 1:3 with linespoints pt 7 ps 0.6 lc rgb "#228833" title "new", \
	 "" using 1:5 with linespoints pt 7 ps 0.6 lc rgb "#ee6677" title "lost", \
	 "" using 1:6 with linespoints pt 7 ps 0.6 lc rgb "#aa3377" title "reactivated"
EOF

# the page: each image embedded, so the one file can be mailed or archived
img() { printf '<p><img alt="%s" src="data:image/png;base64,%s"></p>\n' "$1" "$(base64 -w0 "$OUT/$1.png")"; }
table() {
	awk -F'\t' -v head="$2" 'BEGIN { n = split(head, h, "|"); printf "<table><tr>"; for (i = 1; i <= n; i++) printf "<th>%s</th>", h[i]; print "</tr>" }
		{ printf "<tr>"; for (i = 1; i <= NF; i++) printf "<td>%s</td>", ($i == "\\N" ? "" : $i); print "</tr>" }
		END { print "</table>" }' "$DATA/$1.tsv"
}
{
	cat <<-'EOF'
	<!DOCTYPE html>
	<html><head><meta charset="utf-8"><title>clm demo report: the CDNOW sample</title>
	<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}
	img{max-width:100%}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
	td:first-child{text-align:left}</style></head><body>
	<h1>clm demo report: the CDNOW sample</h1>
	<p>2,357 customers of an online music store who first bought in January to March 1997, and
	all their purchases to the end of June 1998. Everything below is computed in PostgreSQL by
	clm (<code>test/demo.sql</code>) and drawn by gnuplot (<code>scripts/report.sh</code>).
	The job ran at the end of every month of the data, the last time as of 1998-06-30, the
	data's own end: stages are absolute rules about days since the last purchase, so they only
	mean something as of a date inside the data.</p>
	<h2>Lifecycle stages and RFM segments</h2>
	<p><b>Why "Champions" and "churned" are both large.</b> RFM scores are <i>ranks</i>: R, F and M
	are quintiles of the customers against each other, so the best fifth always scores 5,
	however long ago its last purchase was. Stages are <i>absolute rules</i>: a customer is
	churned after 180 days without a purchase (or when P(alive) drops to 0.1). Most CDNOW
	customers bought in early 1997 and never came back, so by mid-1998 most are churned,
	and the top RFM ranks hold many of them too (last column below).</p>
	EOF
	img stages
	img segments
	table segments "RFM segment|customers|% customers|% revenue|of them churned (stage)|% customers churned"
	cat <<-'EOF'
	<h2>ABC classes</h2>
	<p>Customers sorted by revenue: class A makes the first 80% of it, B the next 15%, C the rest.</p>
	EOF
	img abc
	table abc "class|customers|% customers|% revenue"
	cat <<-'EOF'
	<h2>Cohort retention</h2>
	<p>Customers grouped by the week of their first purchase (<code>clm.cohorts(..., period =&gt; 'week')</code>);
	each cell is the share of the cohort that bought in that week ("bracket" retention). The
	function also gives rolling retention (bought in that period or later), orders and revenue.</p>
	EOF
	img cohorts
	cat <<-'EOF'
	<h2>What the purchase model expects</h2>
	<p>The frequency/recency matrix of a BG/NBD model fitted on the first 39 weeks
	(<code>clm.frequency_recency_matrix</code>): customers who bought often but not recently are
	the ones the model believes gone (low P(alive), top left of the left panel).</p>
	EOF
	img matrix
	cat <<-'EOF'
	<h2>KPI trends</h2>
	<p><code>clm.kpi</code>, monthly, a customer being active with a purchase in the 90 days before:
	retention = (active at the end &minus; new) / active at the start; churn = lost / active at the
	start; win-back = reactivated / lapsed at the start; repeat purchase = buyers of the month
	with 2+ orders so far / all its buyers (Shopify's returning-customer rate: every CDNOW customer
	buying after March 1997 is a returning one, hence 100%). The dashed line is the churn rate of
	<code>clm.job_kpi</code>, from the job's stage history (lost = moved to churned, 180 days).</p>
	EOF
	img kpi_rates
	img kpi_counts
	table kpi "month|active at start|new|active at end|lost|reactivated|retention %|churn %|repeat %|win-back %"
	echo '</body></html>'
} > "$OUT/index.html"
echo "$OUT/index.html"
