#include "io/outputs/comparison_outputs.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "io/outputs/particle_outputs.hpp"
#include "io/outputs/text_output.hpp"
#include "io/plots/plot_png.hpp"

namespace xanesmap {

namespace fs = std::filesystem;

namespace {

// A CSV cell for a free-text label: quoted when it holds a comma, a quote or a line break.
std::string csv_text(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

std::string p_value_text(double p) {
  if (!std::isfinite(p)) return "-";
  char b[64];
  if (p < 1e-300) return "< 1e-300";  // below what a double holds: the series underflows
  std::snprintf(b, sizeof b, p < 1e-3 ? "%.1e" : "%.3f", p);
  return b;
}

// Markdown cells: a '|' would split the cell.
std::string md(const std::string& s) {
  std::string out;
  for (const char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

std::string comparison_csv(const SampleComparison& c) {
  std::ostringstream s;
  s << "sample,set,pixels,mean_valence,median_valence,std_valence,q25,q75,iqr,skewness,surface_"
       "minus_core,populations\n";
  for (const auto& f : c.samples)
    for (const SampleSet set : kAllSampleSets) {
      const DistributionFigures& d = f.figures[static_cast<std::size_t>(set)];
      s << csv_text(f.label) << "," << set_name(set) << "," << d.n << "," << csv_number(d.mean)
        << "," << csv_number(d.median) << "," << csv_number(d.std) << "," << csv_number(d.q25)
        << "," << csv_number(d.q75) << "," << csv_number(d.iqr) << "," << csv_number(d.skewness)
        << "," << csv_number(f.surface_minus_core) << ","
        << (set == SampleSet::all ? std::to_string(f.populations.populations) : std::string())
        << "\n";
    }
  return s.str();
}

std::string ks_tests_csv(const SampleComparison& c) {
  std::ostringstream s;
  s << "sample_a,sample_b,set,n_a,n_b,ks_statistic,p_value\n";
  for (const auto& t : c.tests)
    s << csv_text(c.samples[t.a].label) << "," << csv_text(c.samples[t.b].label) << ","
      << set_name(t.set) << "," << t.ks.n_a << "," << t.ks.n_b << "," << csv_number(t.ks.statistic)
      << "," << csv_number(t.ks.p_value) << "\n";
  return s.str();
}

std::string comparison_markdown(const SampleComparison& c, const ComparisonRunInfo& info) {
  std::ostringstream s;
  s << "# Mn valence: comparison of " << c.samples.size() << " samples\n\n";
  s << "Particle pixels with a valence" << (info.weighted ? ", weighted by edge jump" : "")
    << ". Surface: the outer shell of each particle, core: the rest (see each run's "
       "summary.json).\n\n";
  s << "| sample | pixels | mean | median | std | IQR | skewness | populations | surface mean | "
       "core mean | surface - core |\n";
  s << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& f : c.samples) {
    const auto& all = f.figures[0];
    s << "| " << md(f.label) << " | " << all.n << " | " << fixed(all.mean, 3) << " | "
      << fixed(all.median, 3) << " | " << fixed(all.std, 3) << " | " << fixed(all.iqr, 3) << " | "
      << fixed(all.skewness, 2) << " | " << f.populations.populations << " | "
      << fixed(f.figures[1].mean, 3) << " | " << fixed(f.figures[2].mean, 3) << " | "
      << fixed(f.surface_minus_core, 3) << " |\n";
  }
  if (!c.tests.empty()) {
    s << "\n## Two-sample Kolmogorov-Smirnov tests\n\n";
    s << "D is the largest distance between the two cumulative distributions. Neighbouring pixels "
         "are "
         "correlated, so the p-values overstate the significance; compare D.\n\n";
    s << "| sample A | sample B | set | D | p |\n|---|---|---|---:|---:|\n";
    for (const auto& t : c.tests)
      s << "| " << md(c.samples[t.a].label) << " | " << md(c.samples[t.b].label) << " | "
        << set_name(t.set) << " | " << fixed(t.ks.statistic, 3) << " | "
        << p_value_text(t.ks.p_value) << " |\n";
  }
  s << "\n## Runs\n\n";
  for (std::size_t i = 0; i < info.runs.size(); ++i)
    s << "- " << md(c.samples[i].label) << ": `" << info.runs[i].folder.string() << "`\n";
  if (!info.differences.empty()) {
    s << "\n**Warning:** the runs were not made the same way (compared with --force):\n\n";
    for (const auto& d : info.differences) s << "- " << md(d) << "\n";
  }
  return s.str();
}

std::string comparison_histograms_csv(const SampleComparison& c) {
  std::ostringstream s;
  s << "bin_from,bin_to";
  for (const auto& f : c.samples)
    for (const SampleSet set : kAllSampleSets) s << "," << csv_text(f.label + ":" + set_name(set));
  s << "\n";
  if (c.samples.empty()) return s.str();
  const auto& edges = c.samples.front().histograms[0].edges;
  for (std::size_t b = 0; b + 1 < edges.size(); ++b) {
    s << csv_number(edges[b]) << "," << csv_number(edges[b + 1]);
    for (const auto& f : c.samples)
      for (std::size_t set = 0; set < 3; ++set) s << "," << csv_number(f.histograms[set].counts[b]);
    s << "\n";
  }
  // Values outside the bins are not dropped silently: two last rows carry them.
  s << "-inf," << csv_number(edges.front());
  for (const auto& f : c.samples)
    for (std::size_t set = 0; set < 3; ++set) s << "," << csv_number(f.histograms[set].underflow);
  s << "\n" << csv_number(edges.back()) << ",inf";
  for (const auto& f : c.samples)
    for (std::size_t set = 0; set < 3; ++set) s << "," << csv_number(f.histograms[set].overflow);
  s << "\n";
  return s.str();
}

nlohmann::json comparison_summary(const SampleComparison& c, const ComparisonRunInfo& info) {
  nlohmann::json j;
  j["program"] = {
      {"name", "xanesmap"}, {"version", info.version}, {"command_line", info.command_line}};
  j["weighted_by_edge_jump"] = info.weighted;
  j["colour_scale"] = {info.scale.min, info.scale.max};
  j["differences"] = info.differences;
  nlohmann::json samples = nlohmann::json::array();
  for (std::size_t i = 0; i < c.samples.size(); ++i) {
    const auto& f = c.samples[i];
    nlohmann::json sets;
    for (const SampleSet set : kAllSampleSets)
      sets[set_name(set)] = figures_json(f.figures[static_cast<std::size_t>(set)]);
    samples.push_back(
        {{"label", f.label},
         {"folder", info.runs[i].folder.string()},
         {"run_version",
          info.runs[i].summary.value("program", nlohmann::json::object()).value("version", "?")},
         {"figures", sets},
         {"surface_minus_core", json_number(f.surface_minus_core)},
         {"populations", f.populations.populations}});
  }
  j["samples"] = samples;
  nlohmann::json tests = nlohmann::json::array();
  for (const auto& t : c.tests)
    tests.push_back({{"a", c.samples[t.a].label},
                     {"b", c.samples[t.b].label},
                     {"set", set_name(t.set)},
                     {"ks_statistic", json_number(t.ks.statistic)},
                     {"p_value", json_number(t.ks.p_value)}});
  j["ks_tests"] = tests;
  return j;
}

void write_comparison_outputs(const fs::path& folder, const SampleComparison& c,
                              const ComparisonRunInfo& info) {
  write_text_file(folder / "comparison.csv", comparison_csv(c));
  write_text_file(folder / "comparison.md", comparison_markdown(c, info));
  write_text_file(folder / "ks_tests.csv", ks_tests_csv(c));
  write_text_file(folder / "histograms.csv", comparison_histograms_csv(c));
  const auto replace = nlohmann::json::error_handler_t::replace;
  write_text_file(folder / "summary.json",
                  comparison_summary(c, info).dump(2, ' ', false, replace) + "\n");

  std::vector<MapPanel> panels;
  for (std::size_t i = 0; i < info.runs.size(); ++i)
    panels.push_back({info.runs[i].valence.view(), c.samples[i].label,
                      info.runs[i].pixel_size_nm / 1000.0, &info.runs[i].labels});
  write_map_panels_png(folder / "valence_maps.png", panels, info.scale, "Mn valence");

  for (const SampleSet set : kAllSampleSets) {
    const auto k = static_cast<std::size_t>(set);
    std::vector<PlotSeries> series;
    for (const auto& f : c.samples) {
      const Histogram& h = f.histograms[k];
      if (!(h.total_weight > 0.0)) continue;
      series.push_back({f.label + " (" + std::to_string(f.figures[k].n) + " px)",
                        h.edges,
                        h.density(),
                        PlotStyle::steps,
                        false,
                        -1,
                        {}});
    }
    if (series.empty())
      continue;  // no sample has a value in this set: no plot (the tables say n = 0)
    PlotOptions plot;
    plot.title = std::string("Mn valence, ") + (set == SampleSet::all       ? "all particle pixels"
                                                : set == SampleSet::surface ? "surface shell"
                                                                            : "core");
    plot.x_label = "Mn valence";
    plot.y_label = "probability density";
    plot.y_from_zero = true;
    write_plot_png(folder / (std::string("histogram_") + set_name(set) + ".png"), series, plot);
  }
}

}  // namespace xanesmap
