// Two-dimensional real-to-complex FFTs (FFTW 3, double and single precision) with plans made
// once per size. Registration transforms its frames in single precision (the frames are float32:
// a double transform of float data holds nothing more of the image, and the single one takes
// half the memory traffic); the small inverse transforms of correlation surfaces are double.
//
// Conventions (the same as cv::dft, which registration used before): for a real image f of
// rows x cols (row-major), forward gives the half spectrum
//   F(ky, kx) = sum_{y,x} f(y, x) exp(-2 pi i (ky y / rows + kx x / cols)),  kx = 0 .. cols/2,
// stored row-major as rows x (cols/2 + 1) complex values (the other half is the complex
// conjugate, F(-k) = conj F(k)); inverse gives the unnormalized sum with exp(+2 pi i ...) of a
// Hermitian half spectrum (divide by rows x cols to invert forward).
//
// Plans are made on first use of a size and kept for the process (FFTW plans are not cheap to
// make; executing one is thread-safe). The single-precision forward transform is made of two
// kinds of plans (rows of a block, columns in place: forward_rows). From 512 x 512 up,
// FFTW_MEASURE picks the fastest algorithm by timing (about 0.5 s once at 2048 x 2048; the choice
// can change the last bits of the results between runs); below, FFTW_ESTIMATE (deterministic,
// instant). FFTW's "wisdom" keeps measured plans between processes: export_wisdom gives the
// plans measured so far as text, import_wisdom hands them to a later process on the same
// machine, which then makes those plans without timing anything (and picks the same algorithm,
// so the same last bits). The CLI keeps them in a cache file (apps/fft_wisdom.hpp).
// M. Frigo & S. G. Johnson, "The design and implementation of FFTW3", Proc. IEEE 93, 216 (2005).
#pragma once

#include <complex>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>

namespace xanesmap::fft {

struct FreeBuffer {
  void operator()(void* p) const;
};
/// Buffers aligned as FFTW wants them (every array passed to the functions below must be one).
using RealBuffer = std::unique_ptr<double[], FreeBuffer>;
using ComplexBuffer = std::unique_ptr<std::complex<double>[], FreeBuffer>;
struct FreeFloatBuffer {
  void operator()(void* p) const;
};
using FloatBuffer = std::unique_ptr<float[], FreeFloatBuffer>;
using ComplexFloatBuffer = std::unique_ptr<std::complex<float>[], FreeFloatBuffer>;
RealBuffer real_buffer(std::size_t count);
ComplexBuffer complex_buffer(std::size_t count);
FloatBuffer float_buffer(std::size_t count);
ComplexFloatBuffer complex_float_buffer(std::size_t count);

/// Half-spectrum columns of a row of `cols` real values.
inline int half_columns(int cols) { return cols / 2 + 1; }

/// out (rows x half_columns(cols)) = the spectrum of in (rows x cols); `in` is left unchanged.
void forward(int rows, int cols, const double* in, std::complex<double>* out);
/// The same in single precision (forward_rows over the rows of `in`).
void forward(int rows, int cols, const float* in, std::complex<float>* out);
/// Writes rows [row0, row0 + count) of a real image, count x cols values row-major, to `block`.
using RowSource = std::function<void(int row0, int count, float* block)>;
/// out (rows x half_columns(cols), an FFTW buffer) = the single-precision spectrum of the image
/// that `source` writes, block by block of consecutive rows in order: FFTW's transforms of the
/// rows of each block as it comes (still in cache), then of the columns of `out` in place (the
/// row-column algorithm of a 2D transform). An image that is made on the fly (registration's
/// background subtraction) is then never stored whole. The source is called once per block,
/// from the calling thread. `before_columns`, if given, is called with `out` once every row is
/// transformed and before the columns are: the rows' half spectra (rows x half_columns(cols)),
/// which it may change (the column transforms are linear: a change to the transform of row r
/// there is that change to row r of the image, transformed). The source and the hook must not
/// start work that could call forward_rows on the same thread (the block is per thread).
using RowSpectraHook = std::function<void(std::complex<float>* row_spectra)>;
void forward_rows(int rows, int cols, const RowSource& source, std::complex<float>* out,
                  const RowSpectraHook& before_columns = {});
/// Adds, for every (row, col) of `points`, `value` times the transform of a unit impulse at column
/// col, exp(-2 pi i kx col / cols) for kx = 0 .. half_columns(cols) - 1, to that row of
/// `row_spectra` (rows x half_columns(cols), as forward_rows hands them to its hook): the row
/// transforms of the image plus `value` at those pixels. In double, rounded once per value.
/// std::invalid_argument for a point outside rows x cols.
void add_row_impulses(int rows, int cols, std::complex<float>* row_spectra,
                      std::span<const std::pair<int, int>> points, double value);
/// out (rows x cols) = the unnormalized inverse of the Hermitian half spectrum `in`, which is
/// overwritten (FFTW's complex-to-real transforms use it as scratch).
void inverse(int rows, int cols, std::complex<double>* in, double* out);

/// FFTW wisdom in FFTW's own text format, one text per precision (empty: none).
struct Wisdom {
  std::string single_precision, double_precision;
};
/// The plans measured so far in this process (including imported ones), as wisdom.
Wisdom export_wisdom();
/// Makes the plans of `wisdom` available to this process's planning (added to what it has). False
/// when FFTW rejects a text (malformed, or from another FFTW version); plans are made by timing
/// as usual for whatever it did not provide, so results stay correct either way.
bool import_wisdom(const Wisdom& wisdom);

/// How this process's plans were made, from the first transform on.
struct PlanningStats {
  int measured = 0;        // FFTW_MEASURE plans made by timing candidate algorithms
  int from_wisdom = 0;     // FFTW_MEASURE plans taken from imported wisdom (nothing timed)
  int estimated = 0;       // FFTW_ESTIMATE plans (small sizes; instant)
  double measure_s = 0.0;  // seconds spent making the `measured` plans
};
PlanningStats planning_stats();

}  // namespace xanesmap::fft
