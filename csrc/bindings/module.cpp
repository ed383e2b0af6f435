#include "bindings/registry.hpp"
#include "core/parallel.hpp"

#define SHARPDYN_STRINGIFY(x) #x
#define SHARPDYN_MACRO_STRINGIFY(x) SHARPDYN_STRINGIFY(x)

PYBIND11_MODULE(_core, m) {
  m.doc() = "sharpdyn's compiled core (private: import sharpdyn instead)";
  m.attr("HAS_OPENMP") = sharpdyn::has_openmp();
  m.def("max_threads", [] { return sharpdyn::resolve_threads(0); },
        "Threads an OpenMP kernel uses by default (1 without OpenMP).");
#ifdef VERSION_INFO
  m.attr("__version__") = SHARPDYN_MACRO_STRINGIFY(VERSION_INFO);
#endif
  sharpdyn::bindings::register_uv(m);
  sharpdyn::bindings::register_scan(m);
  sharpdyn::bindings::register_chaos(m);
  sharpdyn::bindings::register_mlp(m);
  sharpdyn::bindings::register_momentum(m);
}
