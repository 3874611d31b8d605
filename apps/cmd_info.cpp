// `xanesmap info STACK`: what the files hold, and anything that would make the maps wrong.
// The report goes to stdout; the exit code is 1 when the stack cannot be used as it is.
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "apps/cli_common.hpp"
#include "core/base/energy_grid.hpp"
#include "core/stack/raw_quality.hpp"
#include "io/formats/stack_reader.hpp"

namespace xanesmap::cli {

namespace {

std::string fmt(double v, int decimals = 1) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

std::string index_list(const std::vector<std::size_t>& indices) {
  std::string s;
  for (std::size_t i = 0; i < indices.size() && i < 8; ++i)
    s += (i ? ", " : "") + std::to_string(indices[i]);
  if (indices.size() > 8) s += ", ...";
  return s;
}

int run_info(const StackArgs& args, const GlobalOptions& global) {
  const StackSource source = to_stack_source(args);
  StackDescription d = describe_stack(source);
  std::ostream& out = std::cout;
  std::vector<std::string> warnings = d.problems;

  out << "stack:       " << source.stack.string() << "\n";
  out << "layout:      " << to_string(d.layout);
  if (d.layout == StackLayout::tiff_folder)
    out << " (" << d.image_files.size() << " files, natural name order)";
  out << "\n";
  out << "frames:      " << d.frames << " of " << d.height << " x " << d.width
      << " px (rows x columns), " << to_string(d.sample_type) << "\n";
  out << "pixel size:  " << (d.pixel_size_nm ? fmt(*d.pixel_size_nm, 2) + " nm" : "not in the file")
      << "\n";
  if (!d.energies_as_read.empty()) {
    out << "energies:    " << d.energies_as_read.size() << " from " << d.energy_source << "\n";
    if (!d.energies_ev.empty()) {
      out << "  unit:      " << (d.energy_unit.unit == EnergyUnit::kev ? "keV" : "eV") << " ("
          << d.energy_unit.reason << ")\n";
      const EnergyGridReport grid = describe_energy_grid(d.energies_ev);
      out << "  range:     " << fmt(grid.min_ev, 2) << " - " << fmt(grid.max_ev, 2) << " eV\n";
      for (std::size_t i = 0; i < grid.regions.size(); ++i) {
        const auto& r = grid.regions[i];
        out << (i == 0 ? "  steps:     " : "             ") << fmt(r.start_ev, 2) << " - "
            << fmt(r.end_ev, 2) << " eV: " << r.points << " point" << (r.points == 1 ? "" : "s");
        if (r.points > 1) out << " every " << fmt(r.step_ev, 2) << " eV";
        out << "\n";
      }
      if (!grid.duplicate_indices.empty())
        warnings.push_back("duplicate energies at index " + index_list(grid.duplicate_indices));
      if (!grid.decreasing_indices.empty())
        warnings.push_back("energies decrease at index " + index_list(grid.decreasing_indices) +
                           " (the list must be strictly increasing)");
    }
  }
  out << "flats:       ";
  if (d.flat_frames == 0) {
    out << "none\n";
    warnings.push_back(d.layout == StackLayout::fxi_hdf5
                           ? "no flat fields ('" + source.datasets.flats + "' not found)"
                           : "no flat field given (--flat): optical density cannot be computed");
  } else {
    out << d.flat_frames << " frame" << (d.flat_frames == 1 ? "" : "s") << ", "
        << (d.flats_per_energy   ? "one per energy"
            : d.flat_frames == 1 ? "used for every energy"
                                 : "averaged")
        << " (" << d.flat_source << ")\n";
  }
  out << "darks:       ";
  if (d.dark_frames == 0)
    out << "none (dark taken as 0)\n";
  else
    out << d.dark_frames << " frame" << (d.dark_frames == 1 ? "" : "s") << ", averaged ("
        << d.dark_source << ")\n";

  if (d.problems.empty()) {
    const RawArrays arrays = read_raw_arrays(source, d, make_progress_sink(global));
    const auto saturation = integer_saturation_level(d.sample_type);
    const RawQuality q = assess_raw_quality(arrays.images, arrays.flats, arrays.darks,
                                            d.height * d.width, saturation);
    out << "counts:      images " << fmt(q.images.min, 0) << " - " << fmt(q.images.max, 0)
        << " (mean " << fmt(q.images.mean, 1) << ")";
    if (d.flat_frames)
      out << "; flats " << fmt(q.flats.min, 0) << " - " << fmt(q.flats.max, 0) << " (mean "
          << fmt(q.flats.mean, 1) << ")";
    if (d.dark_frames) out << "; dark mean " << fmt(q.dark.mean, 1);
    out << "\n";
    out << "saturation:  "
        << (saturation ? fmt(*saturation, 0) + " counts (" + to_string(d.sample_type) + " maximum)"
                       : std::string("unknown for float data"))
        << "\n";
    auto flag = [&](std::size_t count, const std::string& what) {
      if (count) warnings.push_back(std::to_string(count) + " " + what);
    };
    flag(q.images_saturated, "saturated image values, in " +
                                 std::to_string(q.frames_with_saturation) +
                                 " frames (those pixels get no optical density there)");
    flag(q.images_non_finite, "NaN or Inf image values");
    flag(q.images_not_above_dark, "image values at or below the dark (no transmitted signal)");
    flag(q.flats_saturated, "saturated flat-field values");
    flag(q.flats_non_finite, "NaN or Inf flat-field values");
    flag(q.flats_zero, "flat-field values that are exactly zero");
    flag(q.flats_not_above_dark, "flat-field values at or below the dark");
    // Whole files without one usable value make the stack unusable, as `map` would find.
    for (const auto& problem : unusable_arrays(source, d, arrays)) d.problems.push_back(problem);
    warnings.insert(warnings.end(), d.problems.begin(), d.problems.end());
  }
  if (warnings.empty()) {
    out << "checks:      ok (energies strictly increasing, shapes consistent, no saturated, "
           "non-finite or zero values)\n";
  } else {
    out << "checks:\n";
    for (const auto& w : warnings) out << "  warning: " << w << "\n";
  }
  if (!d.problems.empty()) {
    std::cerr << "xanesmap: error: the stack cannot be used as it is: " << d.problems.front();
    if (d.problems.size() > 1)
      std::cerr << " (and " << d.problems.size() - 1 << " more, see above)";
    std::cerr << "\n";
    return 1;
  }
  const EnergyGridReport grid = describe_energy_grid(d.energies_ev);
  if (!grid.strictly_increasing()) {
    std::cerr << "xanesmap: error: the energies of " << d.energy_source
              << " are not strictly increasing\n";
    return 1;
  }
  return 0;
}

}  // namespace

void register_info(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto args = std::make_shared<StackArgs>();
  CLI::App* sub = app.add_subcommand("info", "Describe an energy stack and check it for problems");
  add_stack_options(*sub, *args);
  sub->footer(examples_footer(
      {"xanesmap info demo/scan.h5",
       "xanesmap info raw.tif --energies energies.txt --flat flat.tif --dark dark.tif",
       "xanesmap info frames/ --energies energies.txt --flat flat.tif"}));
  sub->callback(
      [&action, &global, args] { action = [&global, args] { return run_info(*args, global); }; });
}

}  // namespace xanesmap::cli
