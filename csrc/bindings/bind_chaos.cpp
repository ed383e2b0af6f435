#include "bindings/registry.hpp"

namespace sharpdyn::bindings {

// Bindings for this area are added by its own change; until then it registers nothing.
void register_chaos(py::module_& m) { (void)m; }

}  // namespace sharpdyn::bindings
