#include "core/base/error.hpp"

namespace xanesmap {

void rethrow_with_context(const Error& e, const std::string& context) {
  const std::string message = context + ": " + e.what();
  if (const auto* option = dynamic_cast<const OptionError*>(&e))
    throw OptionError(option->option(), context + ": " + option->detail());
  if (dynamic_cast<const InputError*>(&e)) throw InputError(message);
  if (dynamic_cast<const OutputError*>(&e)) throw OutputError(message);
  throw Error(message);
}

}  // namespace xanesmap
