#!/usr/bin/env bash
# CLI tests: the xanesmap binary as a user runs it. Usage: cli_test.sh CASE XANESMAP ARG
set -u
case_name=$1
exe=$2
arg=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL [$case_name]: $*" >&2; exit 1; }
# expect_exit CODE CMD...: run CMD, keep stdout/stderr in $work/out, $work/err
expect_exit() {
  local want=$1; shift
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  [ "$got" -eq "$want" ] || { cat "$work/out" "$work/err" >&2; fail "'$*' exited $got, expected $want"; }
}
expect_in() { grep -q -- "$2" "$work/$1" || { cat "$work/$1" >&2; fail "'$2' not in $1"; }; }

case "$case_name" in
  version)
    expect_exit 0 "$exe" --version
    expect_in out "xanesmap $arg"
    ;;
  help)
    expect_exit 0 "$exe" --help
    expect_in out "simulate"
    expect_in out "info"
    for sub in info simulate; do
      expect_exit 0 "$exe" "$sub" --help
      expect_in out "Examples:"
    done
    expect_exit 1 "$exe"                     # a subcommand is required
    expect_exit 1 "$exe" frobnicate
    expect_exit 1 "$exe" simulate --out "$work/x" --size banana
    ;;
  simulate_info)
    expect_exit 0 "$exe" simulate --out "$work/demo" --size 96 --seed 3 --refs "$arg/mn-k/references.toml"
    expect_in out "simulated 110 energies"
    [ -f "$work/demo/scan.h5" ] && [ -f "$work/demo/truth.h5" ] && [ -f "$work/demo/tiff/raw.tif" ] \
      || fail "missing outputs"
    expect_exit 0 "$exe" info "$work/demo/scan.h5"
    expect_in out "HDF5 (FXI layout)"
    expect_in out "110 of 96 x 96 px"
    expect_in out "keV"
    expect_in out "6530.50 - 6570.00 eV: 80 points every 0.50 eV"
    expect_in out "110 frames, one per energy"
    expect_in out "checks:      ok"
    expect_exit 0 "$exe" info "$work/demo/tiff/raw.tif" --energies "$work/demo/tiff/energies.txt" \
      --flat "$work/demo/tiff/flat.tif" --dark "$work/demo/tiff/dark.tif"
    expect_in out "multi-page TIFF"
    expect_in out "pixel size:  30.00 nm"
    # Hot pixels are reported as saturated.
    expect_exit 0 "$exe" simulate --out "$work/hot" --size 64 --hot-pixels 3 --no-tiff --refs "$arg/mn-k/references.toml"
    expect_exit 0 "$exe" info "$work/hot/scan.h5"
    expect_in out "saturated image values"
    ;;
  bad_input)
    expect_exit 1 "$exe" info "$work/missing.h5"
    expect_in err "missing.h5"
    expect_in err "not found"
    echo "hello" > "$work/notes.h5"
    expect_exit 1 "$exe" info "$work/notes.h5"
    expect_in err "neither an HDF5 nor a TIFF"
    expect_exit 0 "$exe" simulate --out "$work/s" --size 64 --refs "$arg/mn-k/references.toml" -q
    head -c 100000 "$work/s/scan.h5" > "$work/cut.h5"
    expect_exit 1 "$exe" info "$work/cut.h5"
    expect_in err "cut.h5"
    # Duplicate energies in a TIFF energy list: info shows them and exits 1.
    sed -n '1,50p' "$work/s/tiff/energies.txt" > "$work/e.txt"
    sed -n '50,111p' "$work/s/tiff/energies.txt" >> "$work/e.txt"   # line 50 twice: 111 energies
    sed -i '$d' "$work/e.txt"                                         # back to 110
    expect_exit 1 "$exe" info "$work/s/tiff/raw.tif" --energies "$work/e.txt" --flat "$work/s/tiff/flat.tif"
    expect_in out "duplicate energies"
    expect_in err "not strictly increasing"
    expect_exit 1 "$exe" info "$work/s/tiff/raw.tif" --flat "$work/s/tiff/flat.tif"
    expect_in err "--energies"
    mkdir "$work/empty_folder"
    expect_exit 1 "$exe" info "$work/empty_folder" --energies "$work/e.txt"
    expect_in err "empty_folder"
    expect_exit 1 "$exe" info "$work/s/scan.h5" --energy-unit furlongs
    expect_in err "--energy-unit"
    expect_exit 1 "$exe" simulate --out "$work/t" --pixel-size-nm -5 --refs "$arg/mn-k/references.toml"
    expect_in err "pixel-size-nm"
    [ ! -e "$work/t" ] || fail "a failed simulate left $work/t"
    expect_exit 1 "$exe" simulate --out "$work/t" --refs "$work/none.toml"
    expect_in err "none.toml"
    ;;
  refuse_overwrite)
    mkdir "$work/out_dir"
    touch "$work/out_dir/keep"
    expect_exit 1 "$exe" simulate --out "$work/out_dir" --size 64 --refs "$arg/mn-k/references.toml"
    expect_in err "--force"
    [ -f "$work/out_dir/keep" ] || fail "existing output was touched"
    expect_exit 0 "$exe" simulate --out "$work/out_dir" --size 64 --force --refs "$arg/mn-k/references.toml"
    [ -f "$work/out_dir/scan.h5" ] && [ ! -f "$work/out_dir/keep" ] || fail "--force did not replace"
    [ -z "$(ls -A "$work" | grep partial)" ] || fail "staging folder left behind"
    ;;
  tiff_no_dark)
    expect_exit 0 "$exe" simulate --out "$work/s" --size 64 --refs "$arg/mn-k/references.toml" -q
    expect_exit 0 "$exe" info "$work/s/tiff/raw.tif" --energies "$work/s/tiff/energies.txt" --flat "$work/s/tiff/flat.tif"
    expect_in out "none (dark taken as 0)"
    expect_in out "110 frames, one per energy"
    ;;
  map)
    expect_exit 0 "$exe" simulate --out "$work/s" --size 96 --drift-px 0 --no-tiff -q --refs "$arg/mn-k/references.toml"
    expect_exit 0 "$exe" map "$work/s/scan.h5" --out "$work/maps" -q --refs "$arg/mn-k/references.toml"
    expect_in out "valence (lcf): mean"
    for f in valence.tif valence_edge.tif valence_sigma.tif edge_energy.tif edge_jump.tif mask.tif status.tif \
             fraction_MnO.tif fraction_Mn2O3.tif fraction_MnO2.tif rfactor.tif calibration.csv summary.json \
             results.h5 valence.png status.png; do
      [ -s "$work/maps/$f" ] || fail "map did not write $f"
    done
    grep -q '"median"' "$work/maps/summary.json" || fail "summary.json lacks valence.median"
    grep -q '"sha256"' "$work/maps/summary.json" || fail "summary.json lacks checksums"
    grep -q '^MnO,2,' "$work/maps/calibration.csv" || fail "calibration.csv lacks MnO"
    # The TIFF maps read back as a stack of one page with the file's pixel size.
    expect_exit 0 "$exe" info "$work/maps/valence.tif" --energies <(echo 6540) --flat "$work/maps/valence.tif"
    expect_in out "pixel size:  30.00 nm"
    # An existing output folder is refused; nonsense options are refused before any work.
    expect_exit 1 "$exe" map "$work/s/scan.h5" --out "$work/maps" --refs "$arg/mn-k/references.toml"
    expect_in err "--force"
    expect_exit 1 "$exe" map "$work/s/scan.h5" --out "$work/m2" --post-order 7 --refs "$arg/mn-k/references.toml"
    expect_in err "post-edge order"
    expect_exit 1 "$exe" map "$work/s/scan.h5" --out "$work/m2" --pre-edge -20 -100 --refs "$arg/mn-k/references.toml"
    expect_in err "pre-edge window"
    expect_exit 1 "$exe" map "$work/s/scan.h5" --out "$work/m2" --method guess --refs "$arg/mn-k/references.toml"
    expect_in err "method"
    # MnO2 moved 6 eV down puts its derivative maximum below Mn2O3's: refused, with a suggestion.
    printf '[[reference]]\nname="MnO"\nfile="%s/mn-k/MnO.txt"\nvalence=2.0\n[[reference]]\nname="Mn2O3"\nfile="%s/mn-k/Mn2O3.txt"\nvalence=3.0\n[[reference]]\nname="MnO2"\nfile="%s/mn-k/MnO2_pyrolusite.txt"\nvalence=4.0\nenergy_shift_ev=-6.0\n' "$arg" "$arg" "$arg" > "$work/shifted.toml"
    expect_exit 1 "$exe" map "$work/s/scan.h5" --out "$work/m2" --edge derivative-max --refs "$work/shifted.toml"
    expect_in err "not monotonic"
    expect_in err "half-height"
    [ ! -e "$work/m2" ] || fail "a failed map left $work/m2"
    # One reference: refused.
    printf '[[reference]]\nname = "MnO"\nfile = "%s/mn-k/MnO.txt"\nvalence = 2.0\n' "$arg" > "$work/one.toml"
    expect_exit 1 "$exe" map "$work/s/scan.h5" --out "$work/m2" --refs "$work/one.toml"
    expect_in err "two references"
    [ ! -e "$work/m2" ] || fail "a failed map left $work/m2"
    ;;
  align)
    expect_exit 0 "$exe" simulate --out "$work/s" --size 96 --drift-px 5 --no-tiff -q --refs "$arg/mn-k/references.toml"
    expect_exit 0 "$exe" align "$work/s/scan.h5" --out "$work/aligned.h5" -q
    expect_in out "aligned 110 frames"
    for f in aligned.h5 aligned_shifts.csv aligned_drift.png; do
      [ -s "$work/$f" ] || fail "align did not write $f"
    done
    head -1 "$work/aligned_shifts.csv" | grep -q '^energy_ev,dy_px,dx_px,quality$' || fail "shifts.csv header"
    [ "$(wc -l < "$work/aligned_shifts.csv")" -eq 111 ] || fail "shifts.csv rows"
    expect_exit 1 "$exe" align "$work/s/scan.h5" --out "$work/aligned.h5" -q
    expect_in err "--force"
    expect_exit 1 "$exe" align "$work/s/scan.h5" --out "$work/a2.h5" --reference index:500 -q
    expect_in err "out of range"
    [ ! -e "$work/a2.h5" ] || fail "a failed align left a2.h5"
    # map registers by default, reuses a shifts table, or skips registration.
    expect_exit 0 "$exe" map "$work/s/scan.h5" --out "$work/m1" -q --refs "$arg/mn-k/references.toml"
    [ -s "$work/m1/shifts.csv" ] && [ -s "$work/m1/drift.png" ] || fail "map did not write shifts.csv/drift.png"
    grep -q '"registration"' "$work/m1/summary.json" || fail "summary lacks registration"
    expect_exit 0 "$exe" map "$work/s/scan.h5" --out "$work/m2" -q --shifts "$work/aligned_shifts.csv" \
      --refs "$arg/mn-k/references.toml"
    grep -q 'given' "$work/m2/summary.json" || fail "summary does not say the shifts were given"
    expect_exit 0 "$exe" map "$work/s/scan.h5" --out "$work/m3" -q --no-align --refs "$arg/mn-k/references.toml"
    expect_exit 1 "$exe" map "$work/s/scan.h5" --out "$work/m5" -q --no-align --max-shift 5 --refs "$arg/mn-k/references.toml"
    expect_in err "no effect"
    expect_exit 1 "$exe" map "$work/s/scan.h5" --out "$work/m5" -q --align-range 3 --refs "$arg/mn-k/references.toml"
    expect_in err "--align-refs"
    head -5 "$work/aligned_shifts.csv" > "$work/short.csv"
    expect_exit 1 "$exe" map "$work/s/scan.h5" --out "$work/m4" -q --shifts "$work/short.csv" \
      --refs "$arg/mn-k/references.toml"
    expect_in err "short.csv"
    [ ! -e "$work/m4" ] || fail "a failed map left m4"
    ;;
  bench)
    # A tiny benchmark: every stage is timed and the JSON has the figures (no timing checked).
    expect_exit 0 "$exe" bench --size 128 --energies 20 -q --refs "$arg/mn-k/references.toml" \
      --json "$work/bench.json" --work-dir "$work"
    expect_in out "triad"
    expect_in out "registration"
    expect_in out "peak resident memory"
    for key in '"total_s"' '"stages"' '"od"' '"registration"' '"shift_apply"' '"normalization"' \
      '"edge_energy"' '"lcf"' '"segmentation"' '"statistics"' '"writing"' '"peak_rss_bytes"' '"triad_gb_s"'; do
      grep -q -- "$key" "$work/bench.json" || fail "bench.json lacks $key"
    done
    ls "$work" | grep -q xanesmap-bench && fail "the writing stage left its folder"
    expect_exit 0 "$exe" --threads 1 bench --size 64 --energies 20 -q --refs "$arg/mn-k/references.toml"
    expect_in out "1 threads"
    expect_exit 1 "$exe" bench --size 64 --energies 15 -q
    expect_in err "at least 16"
    ;;
  *) fail "unknown case";;
esac
echo "ok [$case_name]"
