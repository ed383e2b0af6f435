// Array conventions at the boundary: C-contiguous float64 in (forcecast copies only
// when the caller passed something else; the Python layer already converts).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace sharpdyn::bindings {
namespace py = pybind11;

using darray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using i64array = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using u8array = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;

inline void require_size(const py::array& a, py::ssize_t size, const char* name) {
  if (a.size() != size) {
    throw std::invalid_argument(std::string(name) + ": expected " + std::to_string(size) +
                                " elements, got " + std::to_string(a.size()));
  }
}

}  // namespace sharpdyn::bindings
