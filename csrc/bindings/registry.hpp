// One register_* function per area; module.cpp calls each once.
#pragma once

#include <pybind11/pybind11.h>

namespace sharpdyn::bindings {
namespace py = pybind11;

void register_uv(py::module_& m);     // bind_uv.cpp: UV model (issue: foundation)
void register_scan(py::module_& m);   // bind_scan.cpp: grid kernels for phase scans
void register_chaos(py::module_& m);  // bind_chaos.cpp: cubic map, orbits, periods, Lyapunov
void register_mlp(py::module_& m);    // bind_mlp.cpp: small MLPs with exact Hessians
void register_momentum(py::module_& m);  // bind_momentum.cpp: UV model with heavy-ball momentum

}  // namespace sharpdyn::bindings
