// A main() for the fuzz harness without libFuzzer, so that every compiler's test build exercises
// it: each corpus file, then a fixed number of deterministic mutations of it (bit flips,
// interesting bytes, truncations, inserted tokens, deleted and duplicated ranges, splices with
// another corpus file) go through LLVMFuzzerTestOneInput. Same inputs on every run: a failure
// reproduces. A crash, an escaped exception or a broken contract ends the process (non-zero);
// the failing input is then left in $TMPDIR/xanesmap-fuzz-<pid>/input.txt, and the last line
// printed names the corpus file it came from.
//
// Usage: fuzz_text_parsers_replay [--mutations N] [--seed S] PATH...  (files, or folders read
// recursively in name order)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;
using Bytes = std::string;

// SplitMix64 (Steele, Lea & Flood 2014): small, fast and the same on every platform.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return n ? static_cast<std::size_t>(next() % n) : 0; }
};

// Bytes and tokens that the parsers treat specially: separators, comments, quotes, number
// edge cases (NaN, infinities, overflow, hex floats, huge indices) and the formats' keywords.
const std::vector<Bytes>& tokens() {
  static const std::vector<Bytes> t{"\n",
                                    "\r\n",
                                    "\r",
                                    "\t",
                                    " ",
                                    ",",
                                    "#",
                                    "\"",
                                    "'",
                                    "=",
                                    "[",
                                    "]",
                                    "[[",
                                    "]]",
                                    std::string(1, '\0'),
                                    "nan",
                                    "NaN",
                                    "inf",
                                    "-inf",
                                    "+",
                                    "-",
                                    "1e400",
                                    "-1e400",
                                    "1e-400",
                                    "0x1p3",
                                    "1e18",
                                    "-0",
                                    "18446744073709551616",
                                    std::string(400, '9'),
                                    "\xef\xbb\xbf",
                                    "\xff\xfe",
                                    "[[reference]]\n",
                                    "name = \"MnO\"\n",
                                    "name = \"a b\"\n",
                                    "file = \"a.txt\"\n",
                                    "file = \"b.txt\"\n",
                                    "file = \"input.txt\"\n",
                                    "valence = 2.0\n",
                                    "valence = nan\n",
                                    "valence = \"2\"\n",
                                    "energy_shift_ev = 1e308\n",
                                    "energy_shift_ev = inf\n",
                                    "extra = 1\n",
                                    "[reference]\n",
                                    "energy_ev,dy_px,dx_px,quality\n",
                                    "6450,0.25,-1.125,0.93\n",
                                    "6450,,1,1\n",
                                    "# XDI/1.0\n",
                                    "# Column.1: energy eV\n",
                                    "# Column.2: mutrans\n",
                                    "# Column.3: i0\n",
                                    "# Column.4: itrans\n",
                                    "# Column.0: mu\n",
                                    "# Column.-1: mu\n",
                                    "# Column.1e18: mu\n",
                                    "# Column.4294967297: mu\n",
                                    "# Column.nan: mu\n",
                                    "# Column.2:\n",
                                    "# energy xmu\n",
                                    "# e mu\n",
                                    "6540 1.0\n",
                                    "6541.5,2.5\n",
                                    "6540 0 0\n",
                                    "0 0\n",
                                    "-1 -1\n"};
  return t;
}

Bytes mutate(const Bytes& input, const std::vector<Bytes>& corpus, SplitMix64& rng) {
  Bytes s = input;
  const std::size_t steps = 1 + rng.below(4);
  for (std::size_t step = 0; step < steps; ++step) {
    const std::size_t at = rng.below(s.size() + 1);
    switch (rng.below(7)) {
      case 0:  // flip one bit
        if (!s.empty()) s[std::min(at, s.size() - 1)] ^= static_cast<char>(1u << rng.below(8));
        break;
      case 1: {  // an interesting byte
        static const char bytes[] = {'\0', '\n', '\r', ',', '#', ' ', '\t',   '"',    '=',
                                     '[',  ']',  '.',  '-', '+', 'e', '\x7f', '\x80', '\xff'};
        if (!s.empty()) s[std::min(at, s.size() - 1)] = bytes[rng.below(sizeof bytes)];
        break;
      }
      case 2:  // truncate
        s.resize(at);
        break;
      case 3:  // insert a token
        s.insert(at, tokens()[rng.below(tokens().size())]);
        break;
      case 4:  // delete a range
        s.erase(at, 1 + rng.below(64));
        break;
      case 5: {  // duplicate a range (e.g. a line: duplicate energies)
        const std::size_t from = rng.below(s.size() + 1);
        s.insert(at, s.substr(from, 1 + rng.below(80)));
        break;
      }
      case 6: {  // splice: our head, another input's tail
        const Bytes& other = corpus[rng.below(corpus.size())];
        s = s.substr(0, at) + other.substr(rng.below(other.size() + 1));
        break;
      }
    }
    if (s.size() > 65536) s.resize(65536);  // keep each run fast
  }
  return s;
}

std::vector<fs::path> input_files(const std::vector<fs::path>& paths) {
  std::vector<fs::path> files;
  for (const fs::path& p : paths) {
    if (fs::is_directory(p)) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::recursive_directory_iterator(p))
        if (entry.is_regular_file()) found.push_back(entry.path());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(p)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "fuzz replay: '%s' is neither a file nor a folder\n", p.c_str());
      std::exit(2);
    }
  }
  return files;
}

void run(const Bytes& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t mutations = 200;  // per corpus file
  std::uint64_t seed = 1;
  std::vector<fs::path> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--mutations" || arg == "--seed") && i + 1 < argc) {
      const unsigned long long value = std::strtoull(argv[++i], nullptr, 10);
      if (arg == "--mutations")
        mutations = static_cast<std::size_t>(value);
      else
        seed = value;
    } else {
      paths.emplace_back(arg);
    }
  }
  if (paths.empty()) {
    std::fprintf(stderr, "usage: %s [--mutations N] [--seed S] FILE_OR_FOLDER...\n", argv[0]);
    return 2;
  }
  std::vector<Bytes> corpus;
  const std::vector<fs::path> files = input_files(paths);
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "fuzz replay: no input files\n");
    return 2;
  }
  SplitMix64 rng{seed};
  std::size_t runs = 0;
  run(Bytes());  // the empty file
  for (std::size_t f = 0; f < corpus.size(); ++f) {
    std::printf("%s (+%zu mutations)\n", files[f].c_str(), mutations);
    std::fflush(stdout);
    const Bytes& input = corpus[f];
    run(input), ++runs;
    for (std::size_t m = 0; m < mutations; ++m) run(mutate(input, corpus, rng)), ++runs;
  }
  std::printf("fuzz replay: %zu corpus files, %zu inputs, no finding\n", corpus.size(), runs + 1);
  return 0;
}
