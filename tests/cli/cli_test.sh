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
    for sub in info simulate map align compare; do
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
  bad_input_catalogue)
    # docs/bad-input.md: every refused input exits 1 (never 2, never a signal), names the file
    # or option on stderr, and leaves no output behind. Files are made with the binary itself
    # (simulate), head, dd, printf and tr: python is not on every CI machine.
    refs="$arg/mn-k/references.toml"
    # refuse FRAGMENT CMD...: exit code 1, FRAGMENT on stderr, no internal error.
    refuse() {
      local fragment=$1; shift
      expect_exit 1 "$@"
      expect_in err "$fragment"
      ! grep -q "internal error" "$work/err" || fail "internal error from '$*'"
    }
    expect_exit 0 "$exe" simulate --out "$work/s" --size 64 --refs "$refs" -q
    expect_exit 0 "$exe" simulate --out "$work/small" --size 32 --refs "$refs" -q
    T=$work/s/tiff
    tiff=(--energies "$T/energies.txt" --flat "$T/flat.tif")
    never=$work/never   # the output folder of every refused map: must never appear
    # Our TIFF writer puts every directory first and the pages' pixels back to back at the end
    # (docs/file-formats.md), so the pixel data of the 110 pages of 64x64 uint16 is the last
    # 110*8192 bytes: pages can be overwritten at known offsets.
    page=$((64 * 64 * 2))
    data=$((110 * page))
    header=$(( $(stat -c %s "$T/raw.tif") - data ))

    # Truncated files.
    head -c 8 "$work/s/scan.h5" > "$work/sig.h5"                 # the HDF5 signature only
    refuse "sig.h5" "$exe" info "$work/sig.h5"
    head -c 1000000 "$work/s/scan.h5" > "$work/cut.h5"           # cut inside the images
    refuse "cut.h5" "$exe" map "$work/cut.h5" --out "$never" --refs "$refs"
    head -c 400000 "$T/raw.tif" > "$work/cut_pixels.tif"         # cut inside page 46's pixels
    refuse "cut_pixels.tif" "$exe" map "$work/cut_pixels.tif" "${tiff[@]}" --out "$never" --refs "$refs"
    expect_in err "truncated"
    head -c 500 "$T/raw.tif" > "$work/cut_ifd.tif"               # cut inside the directories
    refuse "cut_ifd.tif" "$exe" info "$work/cut_ifd.tif" "${tiff[@]}"
    expect_in err "directory of page"
    head -c 100 "$T/flat.tif" > "$work/cut_flat.tif"
    refuse "cut_flat.tif" "$exe" map "$T/raw.tif" --energies "$T/energies.txt" --flat "$work/cut_flat.tif" \
      --out "$never" --refs "$refs"

    # Wrong dataset ranks and types (the FXI paths pointed at other datasets).
    refuse "'/X_eng' has rank 1, expected 3" "$exe" info "$work/s/scan.h5" --images-dataset /X_eng
    refuse "'/X_eng' has rank 1, expected 3" "$exe" map "$work/s/scan.h5" --flats-dataset /X_eng --out "$never" --refs "$refs"
    refuse "'/img_dark' has rank 3, expected 1" "$exe" info "$work/s/scan.h5" --energies-dataset /img_dark
    refuse "'/provenance' has unsupported type" "$exe" info "$work/s/scan.h5" --images-dataset /provenance

    # Mismatched shapes and counts between stack, flat and dark.
    refuse "flat field '$work/small/tiff/flat.tif' is 32x32 but the stack is 64x64" \
      "$exe" map "$T/raw.tif" --energies "$T/energies.txt" --flat "$work/small/tiff/flat.tif" --out "$never" --refs "$refs"
    refuse "dark field '$work/small/tiff/dark.tif' is 32x32" \
      "$exe" map "$T/raw.tif" "${tiff[@]}" --dark "$work/small/tiff/dark.tif" --out "$never" --refs "$refs"
    refuse "dark.tif' has 5 frames; one flat per energy needs 110" \
      "$exe" map "$T/raw.tif" --energies "$T/energies.txt" --flat "$T/dark.tif" --flat-mode per-energy --out "$never" --refs "$refs"

    # Energies: unsorted, duplicated, in no known unit, in the wrong unit, away from the edge.
    grep -v '^#' "$T/energies.txt" > "$work/e_ev.txt"
    { sed -n '1,9p' "$work/e_ev.txt"; echo 6600; sed -n '11,110p' "$work/e_ev.txt"; } > "$work/e_unsorted.txt"
    refuse "e_unsorted.txt': energies are not increasing" \
      "$exe" map "$T/raw.tif" --energies "$work/e_unsorted.txt" --flat "$T/flat.tif" --out "$never" --refs "$refs"
    { sed -n '1,50p' "$work/e_ev.txt"; sed -n '50,109p' "$work/e_ev.txt"; } > "$work/e_dup.txt"
    refuse "e_dup.txt': energies 49 and 50 are duplicates" \
      "$exe" map "$T/raw.tif" --energies "$work/e_dup.txt" --flat "$T/flat.tif" --out "$never" --refs "$refs"
    awk '{ printf "%.0f\n", $1 * 1000 }' "$work/e_ev.txt" > "$work/e_mev.txt"   # meV: neither eV nor keV
    refuse "e_mev.txt': energies 6450000-6700000 look like neither keV" \
      "$exe" map "$T/raw.tif" --energies "$work/e_mev.txt" --flat "$T/flat.tif" --out "$never" --refs "$refs"
    refuse "is the energy unit right" \
      "$exe" map "$T/raw.tif" --energies "$work/e_ev.txt" --energy-unit kev --flat "$T/flat.tif" --out "$never" --refs "$refs"
    expect_in err "mapping '$T/raw.tif'"
    sed 's/^6/5/' "$work/e_ev.txt" > "$work/e_low.txt"               # 5450-5700 eV: 1 keV below Mn K
    refuse "is the energy unit right" \
      "$exe" map "$T/raw.tif" --energies "$work/e_low.txt" --flat "$T/flat.tif" --out "$never" --refs "$refs"
    printf '6500\nnan\n' > "$work/e_nan.txt"
    refuse "e_nan.txt' line 2: energy is not finite" "$exe" info "$T/raw.tif" --energies "$work/e_nan.txt" --flat "$T/flat.tif"
    # References that end before the stack does (MnO cut at 6650 eV; the stack reaches 6700 eV).
    awk '!/^#/ && $1 < 6650' "$arg/mn-k/MnO.txt" > "$work/MnO_cut.txt"
    manifest() {  # manifest FILE MNO_FILE: the shipped set with MnO replaced
      printf '[[reference]]\nname="MnO"\nfile="%s"\nvalence=2.0\n[[reference]]\nname="Mn2O3"\nfile="%s/mn-k/Mn2O3.txt"\nvalence=3.0\n[[reference]]\nname="MnO2"\nfile="%s/mn-k/MnO2_pyrolusite.txt"\nvalence=4.0\n' \
        "$2" "$arg" "$arg" > "$1"
    }
    manifest "$work/cut_refs.toml" "$work/MnO_cut.txt"
    refuse "reference 'MnO' does not cover the energies of the fit" \
      "$exe" map "$work/s/scan.h5" --out "$never" --refs "$work/cut_refs.toml"
    expect_in err "cut_refs.toml"

    # Flats and saturation. All-zero flats: refused by info and map, naming the flat.
    { head -c "$header" "$T/flat.tif"; head -c "$data" /dev/zero; } > "$work/zero_flat.tif"
    refuse "flat field '$work/zero_flat.tif' holds no positive value" \
      "$exe" info "$T/raw.tif" --energies "$T/energies.txt" --flat "$work/zero_flat.tif"
    refuse "zero_flat.tif' holds no positive value" \
      "$exe" map "$T/raw.tif" --energies "$T/energies.txt" --flat "$work/zero_flat.tif" --out "$never" --refs "$refs"
    # A whole stack at 65535 (the uint16 maximum): nothing to measure.
    { head -c "$header" "$T/raw.tif"; head -c "$data" /dev/zero | tr '\0' '\377'; } > "$work/all_saturated.tif"
    refuse "all_saturated.tif' holds no usable value: every value is saturated" \
      "$exe" map "$work/all_saturated.tif" "${tiff[@]}" --out "$never" --refs "$refs"
    # Ten whole frames saturated: every pixel lacks those energies, so no pixel can be mapped.
    cp "$T/raw.tif" "$work/frames_saturated.tif"
    head -c $((10 * page)) /dev/zero | tr '\0' '\377' |
      dd of="$work/frames_saturated.tif" bs=1 seek=$((header + 50 * page)) conv=notrunc status=none
    refuse "frames 50, 51, 52, 53, 54, 55, 56, 57, ... (10 of 110) hold no valid value" \
      "$exe" map "$work/frames_saturated.tif" "${tiff[@]}" --out "$never" --refs "$refs"
    expect_in err "mapping '$work/frames_saturated.tif'"
    expect_in err "registration could not confirm the shift of 10 of 110 frames"
    # Left out (--unregistered exclude), the other 100 frames are mapped; their flags cleared.
    expect_exit 0 "$exe" map "$work/frames_saturated.tif" "${tiff[@]}" --out "$work/sat_maps" \
      --refs "$refs" --unregistered exclude -q
    grep -q '"excluded_count": 10' "$work/sat_maps/summary.json" || fail "summary.json: not 10 excluded"
    # One blank frame (its counts equal to its flat: OD 0 everywhere) cannot be registered: map and
    # align stop naming it and the options that help, and write nothing.
    cp "$T/raw.tif" "$work/blank_frame.tif"
    fheader=$(( $(stat -c %s "$T/flat.tif") - data ))
    dd if="$T/flat.tif" of="$work/blank_frame.tif" bs=1 skip=$((fheader + 51 * page)) \
      seek=$((header + 51 * page)) count=$page conv=notrunc status=none
    refuse "could not confirm the shift of 1 of 110 frames: frame 51 (6547.5 eV)" \
      "$exe" map "$work/blank_frame.tif" "${tiff[@]}" --out "$never" --refs "$refs"
    for option in "--max-shift PX" "--reference" "--outlier-px PX" "--unregistered exclude"; do
      expect_in err "$option"
    done
    refuse "frame 51 (6547.5 eV)" "$exe" align "$work/blank_frame.tif" "${tiff[@]}" --out "$work/never.h5"
    [ ! -e "$work/never.h5" ] && [ ! -e "$work/never_shifts.csv" ] || fail "a refused align wrote files"
    # --unregistered exclude: left out, counted and named (console, summary.json, shifts.csv).
    expect_exit 0 "$exe" map "$work/blank_frame.tif" "${tiff[@]}" --out "$work/blank_maps" \
      --refs "$refs" --unregistered exclude
    expect_in out "1 of 110 frame(s) excluded (shift not confirmed): frame 51 (6547.5 eV)"
    expect_in err "left out of the maps"
    grep -q '"excluded_count": 1,' "$work/blank_maps/summary.json" || fail "summary.json: not 1 excluded"
    grep -q '^# excluded.*frame 51 (6547.5 eV)' "$work/blank_maps/shifts.csv" || fail "shifts.csv: no exclusion comment"
    grep -q '^unregistered = "exclude"$' "$work/blank_maps/config.toml" || fail "config.toml lacks unregistered"
    expect_exit 0 "$exe" align "$work/blank_frame.tif" "${tiff[@]}" --out "$work/al_blank.h5" \
      --unregistered exclude
    expect_in out "1 left out of the stack"
    grep -q '^# excluded.*frame 51' "$work/al_blank_shifts.csv" || fail "aligned_shifts.csv: no exclusion comment"
    # Its table (quality 0 in row 51) read back by --shifts: the same choice.
    refuse "the shifts table marks 1 of 110 frames as not registered" \
      "$exe" map "$work/blank_frame.tif" "${tiff[@]}" --shifts "$work/al_blank_shifts.csv" --out "$never" --refs "$refs"
    expect_exit 0 "$exe" map "$work/blank_frame.tif" "${tiff[@]}" --shifts "$work/al_blank_shifts.csv" \
      --out "$work/blank_maps2" --refs "$refs" --unregistered exclude -q
    refuse "--unregistered has no effect here" \
      "$exe" map "$work/blank_frame.tif" "${tiff[@]}" --no-align --unregistered exclude --out "$never" --refs "$refs"
    refuse "'maybe' is not stop or exclude" \
      "$exe" map "$work/blank_frame.tif" "${tiff[@]}" --unregistered maybe --out "$never" --refs "$refs"
    # Three hot pixels: data, not an error. Flagged (status invalid_od) and counted in the summary;
    # without registration (--no-align) exactly those three, as interpolation spreads them.
    expect_exit 0 "$exe" simulate --out "$work/hot" --size 64 --hot-pixels 3 --no-tiff --refs "$refs" -q
    expect_exit 0 "$exe" map "$work/hot/scan.h5" --out "$work/hot_maps" --no-align --refs "$refs" -q
    grep -Eq '"saturated": 3,?$' "$work/hot_maps/summary.json" || fail "summary.json: not 3 saturated pixels"
    grep -Eq '"invalid_od": 3,?$' "$work/hot_maps/summary.json" || fail "summary.json: not 3 invalid_od pixels"

    # References: one point, a non-numeric line, a missing file, a manifest that is not TOML.
    printf '6500 1.0\n' > "$work/one_point.txt"
    manifest "$work/r1.toml" "$work/one_point.txt"
    refuse "one_point.txt': spectrum 'MnO' has 1 point(s)" "$exe" map "$work/s/scan.h5" --out "$never" --refs "$work/r1.toml"
    printf '6500 1.0\n6501 abc\n' > "$work/non_numeric.txt"
    manifest "$work/r2.toml" "$work/non_numeric.txt"
    refuse "non_numeric.txt' line 2: 'abc' is not a number" "$exe" map "$work/s/scan.h5" --out "$never" --refs "$work/r2.toml"
    manifest "$work/r3.toml" "$work/no_such_reference.txt"
    refuse "no_such_reference.txt': file not found" "$exe" map "$work/s/scan.h5" --out "$never" --refs "$work/r3.toml"
    printf 'reference = [\n' > "$work/broken.toml"
    refuse "broken.toml': not valid TOML at line" "$exe" map "$work/s/scan.h5" --out "$never" --refs "$work/broken.toml"

    # Unwritable outputs. CI may run as root, which chmod cannot stop; a path under a regular
    # file (ENOTDIR) or in /proc (no new entries there) fails for root too.
    touch "$work/a_file"
    refuse "cannot create the folder '$work/a_file'" "$exe" map "$work/s/scan.h5" --out "$work/a_file/maps" --refs "$refs"
    refuse "'$work/a_file' exists and is not a folder" "$exe" map "$work/s/scan.h5" --out "$work/a_file" --refs "$refs"
    refuse "cannot write in '/proc'" "$exe" map "$work/s/scan.h5" --out /proc/xanesmap-maps --refs "$refs"
    refuse "$work/a_file/" "$exe" align "$work/s/scan.h5" --out "$work/a_file/aligned.h5"
    refuse "cannot create the folder '$work/a_file'" "$exe" simulate --out "$work/a_file/sim" --size 64 --refs "$refs"

    # Nonsense option values, refused before any file is read: "OPTION VALUE...|fragment".
    while IFS='|' read -r options fragment; do
      # shellcheck disable=SC2086  # the options are split on purpose
      refuse "$fragment" "$exe" map "$work/s/scan.h5" --out "$never" --refs "$refs" $options </dev/null
    done <<'CASES'
--pixel-size-nm -5|--pixel-size-nm
--pixel-size-nm inf|--pixel-size-nm
--pre-edge -20 -100|'--pre-edge'
--post-edge 150 30|'--post-edge'
--fit-window 40 -20|fit-window
--post-order 7|'--post-order'
--post-order 0|'--post-order'
--e0-ev inf|e0-ev
--min-edge-jump -1|min-edge-jump
--min-jump-to-noise -1|min-jump-to-noise
--edge-smoothing 0|'--edge-smoothing'
--saturation -1|saturation
--max-shift -1|max-shift
--outlier-px -1|outlier-px
--upsample 0|upsample
--reference bogus|reference
--reference index:500|reference
--align-refs --align-range 99|align-range
--particle-threshold -1|particle-threshold
--min-area-um2 -1|min-area-um2
--surface-nm -5|surface-nm
--depth-bin-nm 0|depth-bin-nm
--valence-bins 2 4 0|--valence-bins
--edge-bins 6560 6540 10|--edge-bins
--method guess|method
--edge nope|edge
--lcf-constraint nope|lcf-constraint
--flat-mode sideways|--flat-mode
--energy-unit furlongs|--energy-unit
--threads -1|--threads
--pre-edge 1|--pre-edge
CASES
    refuse "size" "$exe" simulate --out "$never" --size 5 --refs "$refs"
    refuse "max-shift" "$exe" align "$work/s/scan.h5" --out "$work/never.h5" --max-shift 0
    [ ! -e "$never" ] && [ ! -e "$work/never.h5" ] || fail "a refused run left an output behind"
    [ -z "$(find "$work" -name '.*partial*')" ] || fail "a refused run left a staging folder"
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
             results.h5 valence.png status.png labels.tif regions.tif depth.tif particles.csv histogram.csv \
             histogram_edge_energy.csv depth_profile.csv regions.png; do
      [ -s "$work/maps/$f" ] || fail "map did not write $f"
    done
    expect_in out "particle(s); surface (outer 300 nm)"
    head -1 "$work/maps/particles.csv" | grep -q '^id,pixels,area_um2,equivalent_diameter_um,' || fail "particles.csv header"
    head -1 "$work/maps/depth_profile.csv" | grep -q '^depth_from_nm,depth_to_nm,pixels,mean_valence,' || fail "depth_profile.csv header"
    head -1 "$work/maps/histogram.csv" | grep -q '^bin_from,bin_to,all,surface,core' || fail "histogram.csv header"
    for key in '"particles"' '"surface_depth_nm"' '"mean_valence"' '"populations"' '"surface_minus_core"'; do
      grep -q "$key" "$work/maps/summary.json" || fail "summary.json lacks $key"
    done
    expect_exit 1 "$exe" map "$work/s/scan.h5" --out "$work/m2" --surface-nm -5 --refs "$arg/mn-k/references.toml"
    expect_in err "surface-nm"
    expect_exit 1 "$exe" map "$work/s/scan.h5" --out "$work/m2" --valence-bins 4 2 10 --refs "$arg/mn-k/references.toml"
    expect_in err "valence-bins"
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
    expect_in err "'--post-order'"
    expect_exit 1 "$exe" map "$work/s/scan.h5" --out "$work/m2" --pre-edge -20 -100 --refs "$arg/mn-k/references.toml"
    expect_in err "'--pre-edge'"
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
  compare)
    refs="$arg/mn-k/references.toml"
    for preset in uncoated coated; do
      expect_exit 0 "$exe" simulate --out "$work/s-$preset" --size 128 --preset $preset --drift-px 0 --no-tiff -q --refs "$refs"
      expect_exit 0 "$exe" map "$work/s-$preset/scan.h5" --out "$work/m-$preset" -q --no-align --refs "$refs"
    done
    expect_exit 0 "$exe" compare "$work/m-uncoated" "$work/m-coated" --labels uncoated,coated --out "$work/cmp" -q
    expect_in out "uncoated: mean"
    for f in valence_maps.png histogram_all.png histogram_surface.png histogram_core.png comparison.csv \
             comparison.md ks_tests.csv histograms.csv summary.json; do
      [ -s "$work/cmp/$f" ] || fail "compare did not write $f"
    done
    grep -q '^uncoated,all,' "$work/cmp/comparison.csv" || fail "comparison.csv lacks the uncoated row"
    grep -q '^uncoated,coated,all,' "$work/cmp/ks_tests.csv" || fail "ks_tests.csv lacks the pair"
    grep -q '| uncoated |' "$work/cmp/comparison.md" || fail "comparison.md lacks the table"
    expect_exit 1 "$exe" compare "$work/m-uncoated" "$work/m-coated" --out "$work/cmp" -q
    expect_in err "--force"
    expect_exit 1 "$exe" compare "$work/m-uncoated" --out "$work/c2" -q
    expect_in err "at least two"
    expect_exit 1 "$exe" compare "$work/m-uncoated" "$work/nowhere" --out "$work/c2" -q
    expect_in err "nowhere"
    expect_exit 1 "$exe" compare "$work/m-uncoated" "$work/m-coated" --labels a,a --out "$work/c2" -q
    expect_in err "labels"
    # A run with another reference set is refused, and accepted with --force (with a warning).
    printf '[[reference]]\nname="MnO"\nfile="%s/mn-k/MnO.txt"\nvalence=2.0\n[[reference]]\nname="Mn2O3"\nfile="%s/mn-k/Mn2O3.txt"\nvalence=3.0\n[[reference]]\nname="MnO2"\nfile="%s/mn-k/MnO2_pyrolusite.txt"\nvalence=4.0\nenergy_shift_ev=0.5\n' "$arg" "$arg" "$arg" > "$work/shifted.toml"
    expect_exit 0 "$exe" map "$work/s-coated/scan.h5" --out "$work/m-shifted" -q --no-align --refs "$work/shifted.toml"
    expect_exit 1 "$exe" compare "$work/m-uncoated" "$work/m-shifted" --out "$work/c2" -q
    expect_in err "references"
    [ ! -e "$work/c2" ] || fail "a refused compare left $work/c2"
    expect_exit 0 "$exe" compare "$work/m-uncoated" "$work/m-shifted" --out "$work/c2" -q --force
    expect_in err "runs differ"
    grep -q 'Warning' "$work/c2/comparison.md" || fail "comparison.md does not warn about the differences"
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
  config)
    refs="$arg/mn-k/references.toml"
    # A folder name with a space, '#' and a quote: CLI11 2.1.2's own TOML reader cuts values at '#'.
    name='scan #1 "q"'
    odd="$work/$name"
    esc() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }   # a TOML basic string's content
    expect_exit 0 "$exe" simulate --out "$odd" --size 64 --drift-px 2 --seed 5 --no-tiff -q --refs "$refs"
    grep -q '^\[simulate\]$' "$odd/config.toml" || fail "simulate did not write its config.toml"
    grep -q '^seed = 5$' "$odd/config.toml" || fail "simulate config.toml lacks seed = 5"
    # Options from a file apply (top-level keys are the global options).
    printf 'quiet = true\n\n[map]\nstack = "%s/scan.h5"   # the stack\nrefs = "%s"\nmethod = "edge"\npre-edge = [-90, -25]\nno-flatten = true\nmin-area-um2 = 0.02\n' \
      "$(esc "$odd")" "$(esc "$refs")" > "$work/run.toml"
    expect_exit 0 "$exe" map --config "$work/run.toml" --out "$work/m1"
    expect_in out "valence (edge)"
    grep -q '"method": "edge"' "$work/m1/summary.json" || fail "method from the file not applied"
    grep -q '"flatten": false' "$work/m1/summary.json" || fail "no-flatten from the file not applied"
    grep -q '^pre-edge = \[-90, -25\]$' "$work/m1/config.toml" || fail "pre-edge from the file not in config.toml"
    grep -q '^min-area-um2 = 0.02$' "$work/m1/config.toml" || fail "min-area-um2 from the file not in config.toml"
    # The command line wins over the file, flags included.
    expect_exit 0 "$exe" map --config "$work/run.toml" --out "$work/m2" --method lcf --pre-edge -100 -20 --no-flatten=false
    expect_in out "valence (lcf)"
    grep -q '"flatten": true' "$work/m2/summary.json" || fail "--no-flatten=false did not override the file"
    grep -q '^pre-edge = \[-100, -20\]$' "$work/m2/config.toml" || fail "--pre-edge did not override the file"
    grep -q '^method = "lcf"$' "$work/m2/config.toml" || fail "--method did not override the file"
    # Unknown keys and tables, non-options, bad TOML, a file with nothing for the command, a
    # missing file: errors that name the file (and the key and its line).
    printf '[map]\nmethod = "lcf"\nbogus-option = 3\n' > "$work/bad_key.toml"
    expect_exit 1 "$exe" map "$odd/scan.h5" --config "$work/bad_key.toml" --out "$work/m9" -q
    expect_in err "bad_key.toml"
    expect_in err "line 3: unknown key 'bogus-option' in \[map\]"
    printf '[mapp]\nmethod = "lcf"\n' > "$work/bad_table.toml"
    expect_exit 1 "$exe" map "$odd/scan.h5" --config "$work/bad_table.toml" --out "$work/m9" -q
    expect_in err "bad_table.toml', line 1: unknown table \[mapp\]"
    printf 'threads = 2\nbogus = 1\n' > "$work/bad_top.toml"
    expect_exit 1 "$exe" map "$odd/scan.h5" --config "$work/bad_top.toml" --out "$work/m9" -q
    expect_in err "unknown key 'bogus' at the top level"
    printf '[map]\nhelp = true\n' > "$work/not_option.toml"
    expect_exit 1 "$exe" map "$odd/scan.h5" --config "$work/not_option.toml" --out "$work/m9" -q
    expect_in err "'help' in \[map\] cannot be set"
    printf '[map]\nmethod = "lcf\n' > "$work/not_toml.toml"
    expect_exit 1 "$exe" map "$odd/scan.h5" --config "$work/not_toml.toml" --out "$work/m9" -q
    expect_in err "not_toml.toml' is not valid TOML: line 2"
    expect_exit 1 "$exe" align "$odd/scan.h5" --config "$work/run.toml" --out "$work/a9.h5" -q
    expect_in err "run.toml' has no \[align\] table"
    expect_exit 1 "$exe" map "$odd/scan.h5" --config "$work/none.toml" --out "$work/m9" -q
    expect_in err "none.toml"
    [ ! -e "$work/m9" ] && [ ! -e "$work/a9.h5" ] || fail "a refused run left outputs"
    # Reproduce a map from its config.toml, from another folder (paths in it are absolute):
    # valence.tif is the same byte for byte, and so is the effective configuration.
    mkdir "$work/here" "$work/elsewhere"
    cp -r "$odd" "$work/here/stack"
    cd "$work/here"
    expect_exit 0 "$exe" map stack/scan.h5 --out "$work/m3" -q --refs "$refs" --fit-window -15 30 --align-refs
    cd "$work/elsewhere"
    expect_exit 1 "$exe" map --config "$work/m3/config.toml" -q
    expect_in err "out"                                             # no --out: refused, nothing replaced
    expect_exit 0 "$exe" map --config "$work/m3/config.toml" --out "$work/m3-again" -q
    cd "$work"
    for f in valence.tif status.tif edge_energy.tif labels.tif; do
      cmp -s "$work/m3/$f" "$work/m3-again/$f" || fail "reproduced $f differs from the original"
    done
    diff <(grep -v '^#' "$work/m3/config.toml") <(grep -v '^#' "$work/m3-again/config.toml") >&2 \
      || fail "the reproduction's effective configuration differs"
    grep -q "^stack = \"$(esc "$work/here/stack/scan.h5")\"$" "$work/m3/config.toml" || fail "stack path not absolute"
    grep -q '^# out = ' "$work/m3/config.toml" && grep -q '^# force = ' "$work/m3/config.toml" \
      || fail "out/force are not commented out"
    grep -q '^align-range = 5$' "$work/m3/config.toml" || fail "align-range missing with --align-refs"
    grep -q '^# e0-ev =' "$work/m3/config.toml" || fail "automatic e0-ev not listed"
    # align, simulate and compare write their configurations too, and reproduce from them.
    expect_exit 0 "$exe" align "$odd/scan.h5" --out "$work/al.h5" --max-shift 10 -q
    grep -q '^max-shift = 10$' "$work/al_config.toml" || fail "align did not write al_config.toml"
    expect_exit 0 "$exe" align --config "$work/al_config.toml" --out "$work/al2.h5" -q
    cmp -s "$work/al_shifts.csv" "$work/al2_shifts.csv" || fail "reproduced align shifts differ"
    expect_exit 0 "$exe" simulate --config "$odd/config.toml" --out "$work/sim2" -q
    cmp -s "$odd/truth_valence.tif" "$work/sim2/truth_valence.tif" || fail "reproduced simulation differs"
    expect_exit 0 "$exe" compare "$work/m3" "$work/m1" --out "$work/cmp" -q --force
    grep -q "^dirs = \[\"$(esc "$work/m3")\", \"$(esc "$work/m1")\"\]$" "$work/cmp/config.toml" \
      || fail "compare config.toml lacks dirs"
    expect_exit 0 "$exe" compare --config "$work/cmp/config.toml" --out "$work/cmp2" -q --force
    cmp -s "$work/cmp/comparison.csv" "$work/cmp2/comparison.csv" || fail "reproduced comparison differs"
    ;;
  bench)
    # A tiny benchmark: every stage is timed and the JSON has the figures (no timing checked).
    expect_exit 0 "$exe" bench --size 128 --energies 20 -q --refs "$arg/mn-k/references.toml" \
      --json "$work/bench.json" --work-dir "$work"
    expect_in out "triad"
    expect_in out "registration"
    expect_in out "peak resident memory"
    # The stages as the pipeline announces them (core/pipeline.hpp, kMapStages), and writing.
    for key in '"total_s"' '"stages"' '"optical_density"' '"registration"' '"shift_apply"' '"pixel_fits"' \
      '"segmentation"' '"particle_statistics"' '"writing"' '"peak_rss_bytes"' '"triad_gb_s"' '"cpu_s"'; do
      grep -q -- "$key" "$work/bench.json" || fail "bench.json lacks $key"
    done
    ls "$work" | grep -q xanesmap-bench && fail "the writing stage left its folder"
    # On a file: `xanesmap map` itself, timed from reading to writing.
    expect_exit 0 "$exe" simulate --out "$work/sim" --size 64 --no-tiff -q --refs "$arg/mn-k/references.toml"
    expect_exit 0 "$exe" bench --file "$work/sim/scan.h5" -q --refs "$arg/mn-k/references.toml" \
      --json "$work/bench-file.json" --work-dir "$work"
    for key in '"reading"' '"optical_density"' '"valence_model"' '"pixel_fits"' '"valence_summary"' \
      '"particle_statistics"' '"writing"'; do
      grep -q -- "$key" "$work/bench-file.json" || fail "bench-file.json lacks $key"
    done
    expect_in out "file read -> maps written"
    ls "$work" | grep -q xanesmap-bench && fail "bench --file left its output folder"
    expect_exit 1 "$exe" bench --file "$work/sim/scan.h5" --size 64 -q
    expect_in err "no effect with --file"
    expect_exit 1 "$exe" bench --flat "$work/sim/scan.h5" -q
    expect_in err "only applies with --file"
    expect_exit 1 "$exe" bench --file "$work/sim/scan.h5" --scaling -q
    expect_in err "--scaling"
    expect_exit 0 "$exe" --threads 1 bench --size 64 --energies 20 -q --refs "$arg/mn-k/references.toml"
    expect_in out "1 threads"
    expect_exit 1 "$exe" bench --size 64 --energies 15 -q
    expect_in err "at least 16"
    ;;
  fft_wisdom)
    # FFT plans kept between runs (apps/fft_wisdom.hpp). 512 px is the smallest size whose plan
    # is measured (smaller ones are estimated, nothing to keep).
    bench=(bench --size 512 --energies 16 -q --refs "$arg/mn-k/references.toml" --work-dir "$work")
    plans_file="$work/cache/plans"
    XANESMAP_FFTW_WISDOM="$plans_file" expect_exit 0 "$exe" "${bench[@]}"
    grep -Eq "FFT plans: [1-9][0-9]* measured .*, 0 from plans kept" "$work/out" || fail "first run did not measure"
    [ -s "$plans_file" ] || fail "the plans were not kept"
    head -n 1 "$plans_file" | grep -qx "xanesmap fftw wisdom 1" || fail "plan file header"
    cp "$plans_file" "$work/plans.first"
    XANESMAP_FFTW_WISDOM="$plans_file" expect_exit 0 "$exe" "${bench[@]}"
    grep -Eq "FFT plans: 0 measured .*, [1-9][0-9]* from plans kept" "$work/out" || fail "second run measured again"
    cmp -s "$plans_file" "$work/plans.first" || fail "a run that measured nothing rewrote the plan file"
    [ -s "$work/err" ] && fail "warnings on a good plan file: $(cat "$work/err")"
    # Damaged plans: a warning, measured again, the file repaired.
    { sed -n 1,3p "$work/plans.first"; echo "(fftw-3.3.10 fftwf_wisdom #xdeadbeef (garbage"; } > "$plans_file"
    XANESMAP_FFTW_WISDOM="$plans_file" expect_exit 0 "$exe" "${bench[@]}"
    expect_in err "warning: the FFT plan file '$plans_file' is truncated or damaged"
    XANESMAP_FFTW_WISDOM="$plans_file" expect_exit 0 "$exe" "${bench[@]}"
    grep -Eq "FFT plans: 0 measured" "$work/out" || fail "the damaged plan file was not replaced"
    # Both sections present, text FFTW rejects: a warning, measured again.
    { sed -n 1,3p "$work/plans.first"; echo "(fftw-3.3.10 fftwf_wisdom #xdeadbeef (garbage"; \
      echo "--- double precision"; echo "(garbage too"; } > "$plans_file"
    XANESMAP_FFTW_WISDOM="$plans_file" expect_exit 0 "$exe" "${bench[@]}"
    expect_in err "FFTW did not accept"
    grep -Eq "FFT plans: [1-9][0-9]* measured" "$work/out" || fail "rejected plans were not measured again"
    # An empty file (a save cut short): measured again and replaced, without a warning.
    : > "$plans_file"
    XANESMAP_FFTW_WISDOM="$plans_file" expect_exit 0 "$exe" "${bench[@]}"
    [ -s "$work/err" ] && fail "warnings on an empty plan file: $(cat "$work/err")"
    head -n 1 "$plans_file" | grep -qx "xanesmap fftw wisdom 1" || fail "an empty plan file was not replaced"
    ls -a "$work/cache" | grep -q '\.tmp' && fail "a temporary plan file was left behind"
    # Not a regular file: not read.
    mkdir -p "$work/a-folder"
    XANESMAP_FFTW_WISDOM="$work/a-folder" expect_exit 0 "$exe" "${bench[@]}"
    expect_in err "is not a xanesmap FFT plan file"
    # Another processor's plans: not used, replaced without a warning.
    sed '2s/.*/cpu Some Other Processor/' "$work/plans.first" > "$plans_file"
    XANESMAP_FFTW_WISDOM="$plans_file" expect_exit 0 "$exe" "${bench[@]}"
    grep -Eq "FFT plans: [1-9][0-9]* measured" "$work/out" || fail "another processor's plans were used"
    grep -q "Some Other" "$plans_file" && fail "another processor's plans were not replaced"
    # A file that is not ours: a warning, neither used nor replaced.
    echo "my notes" > "$work/notes.txt"
    XANESMAP_FFTW_WISDOM="$work/notes.txt" expect_exit 0 "$exe" "${bench[@]}"
    expect_in err "is not a xanesmap FFT plan file"
    [ "$(cat "$work/notes.txt")" = "my notes" ] || fail "a foreign file was overwritten"
    # off: nothing written anywhere; unset: the XDG cache folder.
    mkdir -p "$work/home"
    HOME="$work/home" XDG_CACHE_HOME= XANESMAP_FFTW_WISDOM=off expect_exit 0 "$exe" "${bench[@]}"
    [ -e "$work/home/.cache" ] && fail "plans kept although XANESMAP_FFTW_WISDOM=off"
    (unset XANESMAP_FFTW_WISDOM; XDG_CACHE_HOME="$work/xdg" expect_exit 0 "$exe" "${bench[@]}") || exit 1
    [ -s "$work/xdg/xanesmap/fftw-wisdom" ] || fail "no plan file in XDG_CACHE_HOME"
    ;;
  *) fail "unknown case";;
esac
echo "ok [$case_name]"
