// Text inputs: energy lists and reference spectra.
//
// Energy list: one energy per line (eV unless the caller converts), blank lines and `#`
// comments (whole-line or after the value) ignored.
// Column tables: whitespace- or comma-separated numbers, `#` comment lines; every data line
// must have the same number of columns. Column names come from an XDI header
// ("# Column.1: energy eV") or, in Athena/Larch exports, from the last comment line before the
// data when it has one word per column.
// Every error is an InputError naming the file and the line.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/base/spectrum.hpp"

namespace xanesmap {

std::vector<double> read_energy_list(const std::filesystem::path& file);

struct ColumnTable {
  std::vector<std::string> names;            // lower-case; empty when the file names none
  std::vector<std::vector<double>> columns;  // columns[j][i]: row i of column j
  bool xdi = false;                          // the file starts with "# XDI/"
};

ColumnTable read_column_table(const std::filesystem::path& file);

/// A reference spectrum mu(E) from a text file:
/// - XDI: energy from the column named "energy"; mu from "mutrans", "mufluor" or "mu", else
///   ln(i0 / itrans) from the "i0" and "itrans" columns;
/// - named columns (Athena/Larch export): "energy" or "e" and "xmu" or "mu";
/// - otherwise: the first two columns are energy (eV) and mu.
/// Rows are sorted by energy; duplicate energies are an error.
Spectrum read_reference_spectrum(const std::filesystem::path& file, const std::string& name);

}  // namespace xanesmap
