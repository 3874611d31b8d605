// xanesmap: per-pixel Mn valence maps from TXM-XANES energy stacks.
//
// Exit codes: 0 success; 1 bad input, options or outputs (xanesmap::Error and command-line
// errors); 2 internal error (anything unexpected, including running out of memory).
#include <cstdio>
#include <iostream>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <tbb/global_control.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "apps/cli_common.hpp"
#include "apps/config_file.hpp"
#include "apps/fft_wisdom.hpp"
#include "core/base/error.hpp"

int main(int argc, char** argv) {
  using namespace xanesmap;
#if defined(__GLIBC__)
  // One malloc arena for all threads. With one arena per thread (glibc's default), a large block
  // freed by one thread (a flat field, a frame) stays resident in that thread's heap while the
  // worker threads map and fault in fresh memory: the freed flats of a 2048 px stack (1.7 GB)
  // were counted again in the peak, and every stage paid the page faults. The hot loops do not
  // allocate, so the shared arena's lock is not contended (bench: 2048 x 100 total 5.9 -> 5.1 s,
  // peak 3.62 -> 3.51 GB).
  mallopt(M_ARENA_MAX, 1);
#endif
  CLI::App app{"xanesmap " XANESMAP_VERSION
               ": Mn valence maps from TXM-XANES energy stacks (transmission X-ray microscopy)",
               "xanesmap"};  // the name in usage lines, whatever path the binary is run by
  app.set_version_flag("--version", std::string("xanesmap ") + XANESMAP_VERSION + "\ngit commit " +
                                        XANESMAP_GIT_COMMIT);
  app.require_subcommand(1);
  app.fallthrough();
  cli::GlobalOptions global;
  global.time_utc = cli::utc_now_iso8601();
  for (int i = 0; i < argc; ++i) global.command_line += (i ? " " : "") + std::string(argv[i]);
  app.add_flag("-q,--quiet", global.quiet, "No progress output on stderr");
  app.add_option("--threads", global.threads, "Worker threads (0 = all cores)")
      ->check(CLI::Range(0, 1024));
  cli::add_config_option(app);
  app.footer(cli::examples_footer({"xanesmap simulate --out demo", "xanesmap info demo/scan.h5",
                                   "xanesmap map demo/scan.h5 --out demo-maps",
                                   "xanesmap align demo/scan.h5 --out aligned.h5",
                                   "xanesmap map --config demo-maps/config.toml --out again",
                                   "xanesmap bench --size 512", "xanesmap <command> --help"}));
  cli::Action action;
  cli::register_info(app, global, action);
  cli::register_simulate(app, global, action);
  cli::register_map(app, global, action);
  cli::register_align(app, global, action);
  cli::register_compare(app, global, action);
  cli::register_bench(app, global, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    // A value that does not convert may come from the config file: say which file it was.
    const CLI::Option* config = app.get_config_ptr();
    const bool value_error = dynamic_cast<const CLI::ConversionError*>(&e) ||
                             dynamic_cast<const CLI::ArgumentMismatch*>(&e) ||
                             dynamic_cast<const CLI::ValidationError*>(&e);
    if (value_error && config && config->count() > 0 &&
        std::string(e.what()).find("--config") == std::string::npos)
      std::cerr << "(options were also read from config file '" << config->as<std::string>()
                << "')\n";
    return code == 0 ? 0 : 1;
  }
  std::unique_ptr<tbb::global_control> threads;
  if (global.threads > 0)
    threads = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    static_cast<std::size_t>(global.threads));
  // FFT plans measured by earlier runs (apps/fft_wisdom.hpp); this run's are kept for the next,
  // whether it succeeds or not (a plan is valid either way).
  const auto wisdom = cli::fft_wisdom_path();
  auto warn = [](const std::string& warning) {
    if (!warning.empty()) std::cerr << "xanesmap: warning: " << warning << "\n";
  };
  if (wisdom) {
    try {
      warn(cli::load_fft_wisdom(*wisdom));
    } catch (const std::exception& e) {  // e.g. out of memory: run without the kept plans
      warn(std::string("the kept FFT plans were not read: ") + e.what());
    }
  }
  struct SaveWisdom {
    const std::optional<std::filesystem::path>& path;
    const decltype(warn)& report;
    ~SaveWisdom() {
      try {
        if (path) report(cli::save_fft_wisdom(*path));
      } catch (...) {  // out of memory exporting: the plans are just not kept
        std::fputs("xanesmap: warning: the FFT plans were not kept\n", stderr);
      }
    }
  } save_wisdom{wisdom, warn};
  try {
    return action ? action() : 1;
  } catch (const Error& e) {
    std::cerr << "xanesmap: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "xanesmap: internal error: out of memory\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "xanesmap: internal error: " << e.what() << "\n";
    return 2;
  }
}
