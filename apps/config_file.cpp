#include "apps/config_file.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>

namespace xanesmap::cli {

namespace {

namespace fs = std::filesystem;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// The option a config key names, resolved the way CLI11's App::_parse_single_config does:
// "--key", then "-key" for one letter, then a positional named key.
const CLI::Option* find_option(const CLI::App& app, const std::string& key) {
  if (key.empty() || key.front() == '-') return nullptr;
  if (const CLI::Option* o = app.get_option_no_throw("--" + key)) return o;
  if (key.size() == 1)
    if (const CLI::Option* o = app.get_option_no_throw("-" + key)) return o;
  return app.get_option_no_throw(key);
}

const CLI::App* find_subcommand(const CLI::App& root, const std::string& name) {
  try {
    return root.get_subcommand(name);
  } catch (const CLI::OptionNotFound&) {
    return nullptr;
  }
}

// Shortest decimal text that reads back to the same double.
std::string shortest(double v) {
  char buffer[64];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, v).ptr;
  return std::string(buffer, end);
}

// Reads the TOML with toml++ and hands CLI11 one ConfigItem per key.
class TomlConfig final : public CLI::Config {
 public:
  explicit TomlConfig(const CLI::App& root) : root_(root) {}

  std::string to_config(const CLI::App* app, bool, bool, std::string) const override {
    return effective_config(*app, {}, "");
  }

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    const std::string where = "config file " + quoted(file_name());
    std::ostringstream text;
    text << input.rdbuf();
    toml::table root;
    try {
      root = toml::parse(text.str(), file_name());
    } catch (const toml::parse_error& e) {
      std::ostringstream m;
      m << where << " is not valid TOML: line " << e.source().begin.line << ", column "
        << e.source().begin.column << ": " << e.description();
      throw CLI::ConfigError(m.str());
    }
    std::vector<CLI::ConfigItem> result;
    std::vector<std::string> tables;
    bool top_level_keys = false;
    for (auto&& [key, node] : root) {
      const std::string name(key.str());
      if (const toml::table* table = node.as_table()) {
        const CLI::App* sub = find_subcommand(root_, name);
        if (!sub)
          throw CLI::ConfigError(where + ", line " + line(node) + ": unknown table [" + name +
                                 "]; the tables are " + "the commands (" + command_names() + ")");
        tables.push_back(name);
        for (auto&& [sub_key, sub_node] : *table)
          add_item(result, *sub, {name}, std::string(sub_key.str()), sub_node);
      } else {
        top_level_keys = true;
        add_item(result, root_, {}, name, node);
      }
    }
    // A file with tables for other commands only (or nothing at all) would be silently ignored.
    const auto running = root_.get_subcommands();
    if (!running.empty() && (!tables.empty() || !top_level_keys)) {
      const std::string command = running.front()->get_name();
      if (std::find(tables.begin(), tables.end(), command) == tables.end()) {
        std::string has;
        for (const auto& t : tables) has += (has.empty() ? "" : ", ") + ("[" + t + "]");
        throw CLI::ConfigError(
            where + " has no [" + command + "] table, so nothing in it applies to `xanesmap " +
            command + "`" +
            (has.empty() ? std::string(" (it is empty)") : " (it has " + has + ")"));
      }
    }
    return result;
  }

 private:
  std::string file_name() const {
    const CLI::Option* option = root_.get_config_ptr();
    return option && option->count() > 0 ? option->as<std::string>() : std::string("(config)");
  }

  static std::string line(const toml::node& node) {
    return std::to_string(node.source().begin.line);
  }

  std::string command_names() const {
    std::string names;
    for (const CLI::App* sub : root_.get_subcommands({}))
      names += (names.empty() ? "" : ", ") + sub->get_name();
    return names;
  }

  void add_item(std::vector<CLI::ConfigItem>& out, const CLI::App& app,
                std::vector<std::string> parents, const std::string& key,
                const toml::node& node) const {
    const std::string where = "config file " + quoted(file_name()) + ", line " + line(node) + ": ";
    const std::string in =
        parents.empty() ? std::string("at the top level") : "in [" + parents.front() + "]";
    if (node.is_table())
      throw CLI::ConfigError(where + "unknown table [" + parents.front() + "." + key + "]");
    const CLI::Option* option = find_option(app, key);
    if (!option)
      throw CLI::ConfigError(
          where + "unknown key " + quoted(key) + " " + in +
          (parents.empty() ? std::string("; the options of a command go in its table, e.g. [map]")
                           : "; the keys are the long option names of `xanesmap " +
                                 parents.front() + " --help` without the dashes"));
    if (!option->get_configurable())
      throw CLI::ConfigError(where + quoted(key) + " " + in + " cannot be set in a config file");
    CLI::ConfigItem item;
    item.parents = std::move(parents);
    item.name = key;
    if (const toml::array* array = node.as_array()) {
      for (const toml::node& element : *array) {
        const auto value = scalar_text(element);
        if (!value)
          throw CLI::ConfigError(where + quoted(key) + " " + in +
                                 ": arrays hold numbers, text or true/false");
        item.inputs.push_back(*value);
      }
    } else {
      const auto value = scalar_text(node);
      if (!value)
        throw CLI::ConfigError(where + quoted(key) + " " + in +
                               ": dates and times are not option values");
      item.inputs.push_back(*value);
    }
    out.push_back(std::move(item));
  }

  // The text CLI11 converts, as if typed on the command line.
  static std::optional<std::string> scalar_text(const toml::node& node) {
    if (const auto* s = node.as_string()) return s->get();
    if (const auto* i = node.as_integer()) return std::to_string(i->get());
    if (const auto* f = node.as_floating_point()) return shortest(f->get());
    if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
    return std::nullopt;
  }

  const CLI::App& root_;
};

// Control characters would end a comment line and start a key: replaced by spaces.
std::string comment_text(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return out;
}

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char code[8];
          std::snprintf(code, sizeof code, "\\u%04x",
                        static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += code;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// A canonical decimal integer that fits TOML's 64-bit integers reads back as the same text.
bool is_toml_integer(const std::string& s) {
  const std::size_t digits = s.size() - (s.starts_with('-') ? 1 : 0);
  if (digits == 0 || s == "-0" || (digits > 1 && s[s.size() - digits] == '0')) return false;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && end == s.data() + s.size();
}

// One value as TOML. Integers are written only in canonical form: CLI11 reads integer options
// with base 0 ("010" is 8), so any other spelling stays a string and is re-read the same way.
// Floating-point options are written as the shortest text of the double CLI11 reads, with ".0"
// kept so that -0.0 stays a float; anything that is not a number is a string.
std::string toml_value(std::string text, const std::string& type, bool path) {
  if (path && !text.empty()) text = fs::absolute(text).lexically_normal().string();
  const bool integer_type = type.find("INT") != std::string::npos;
  const bool float_type =
      type.find("FLOAT") != std::string::npos || type.find("NUMBER") != std::string::npos;
  if ((integer_type || float_type) && is_toml_integer(text)) return text;
  if (float_type) {
    double value = 0.0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size()) {
      if (std::isnan(value)) return "nan";
      if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
      std::string number = shortest(value);
      if (number.find_first_of(".e") == std::string::npos) number += ".0";
      return number;
    }
  }
  return toml_string(text);
}

// "[-100,-20]" (CLI11's default string of a vector) -> {"-100", "-20"}.
std::vector<std::string> default_values(const std::string& text) {
  if (text.empty()) return {};
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') return {text};
  std::vector<std::string> values;
  std::stringstream s(text.substr(1, text.size() - 2));
  for (std::string item; std::getline(s, item, ',');) values.push_back(item);
  return values;
}

std::string config_key(const CLI::Option& option) {
  if (!option.get_lnames().empty()) return option.get_lnames().front();
  std::string key = option.get_single_name();
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

}  // namespace

void add_config_option(CLI::App& app) {
  app.set_config(
         "--config", "",
         "TOML file with options: a table per command, e.g. [map] with pre-edge = [-100, -20]; "
         "the command line wins over the file (docs/map-outputs.md)")
      ->check(CLI::ExistingFile);
  app.config_formatter(std::make_shared<TomlConfig>(app));
  app.allow_config_extras(CLI::config_extras_mode::error);
}

std::string effective_config(const CLI::App& sub, const NotApplied& not_applied,
                             const std::string& header) {
  std::ostringstream out;
  out << header << "[" << sub.get_name() << "]\n";
  for (const CLI::Option* option : sub.get_options()) {
    if (!option->get_configurable()) continue;
    const std::string key = config_key(*option);
    const std::string type = option->get_type_name();
    std::vector<std::string> values;
    if (option->get_expected_min() == 0) {  // a flag (as CLI11 itself tells them apart)
      values.push_back(option->count() > 0                 ? (option->as<bool>() ? "true" : "false")
                       : option->get_default_str().empty() ? "false"
                                                           : option->get_default_str());
    } else {
      values = option->count() > 0 ? option->results() : default_values(option->get_default_str());
      for (auto& v : values) v = toml_value(v, type, type == "PATH");
    }
    std::string value;
    if (option->get_items_expected_max() > 1) {
      value = "[";
      for (std::size_t i = 0; i < values.size(); ++i) value += (i ? ", " : "") + values[i];
      value += "]";
    } else if (!values.empty()) {
      value = values.front();
    }
    out << "\n# " << comment_text(option->get_description()) << "\n";
    if (const auto it = not_applied.find(key); it != not_applied.end())
      out << "# " << key << " = " << (values.empty() ? "(none)" : comment_text(value))
          << "   (not applied: " << comment_text(it->second) << ")\n";
    else if (values.empty())
      out << "# " << key << " =   (not given: the run's default, see above)\n";
    else
      out << key << " = " << value << "\n";
  }
  return out.str();
}

std::string config_header(const std::string& command, const std::string& command_line,
                          const std::string& time_utc, const std::string& reproduce) {
  std::string h = "# xanesmap " XANESMAP_VERSION " (git " XANESMAP_GIT_COMMIT
                  "): the effective configuration of `xanesmap " +
                  command + "`\n";
  h += "# run started " + time_utc + "\n";
  h += "# command line: " + comment_text(command_line) + "\n";
  h += "# reproduce: " + comment_text(reproduce) + "\n";
  h += "# Every option with the value it had (given or default). Commented keys are automatic "
       "values\n"
       "# (the run's outputs record what they became) or options a new run must give itself.\n\n";
  return h;
}

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace xanesmap::cli
