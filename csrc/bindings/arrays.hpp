// Array conventions at the boundary: C-contiguous float64 in (forcecast copies only
// when the caller passed something else; the Python layer already converts).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

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

// A new C-contiguous float64 array whose first element starts a 64-byte cache line (NumPy's
// own allocations are only 16-byte aligned): a view into a slightly larger NumPy array, which
// owns the memory. Kernels that stream whole cache lines (orbit diagrams) then write aligned
// rows whenever the row length is a multiple of 8.
inline darray line_aligned_array(const std::vector<py::ssize_t>& shape) {
  py::ssize_t count = 1;
  for (const auto s : shape) count *= s;
  py::array_t<double> owner(count + 8);
  const auto addr = reinterpret_cast<std::uintptr_t>(owner.mutable_data());
  const auto skip = static_cast<py::ssize_t>((64 - addr % 64) % 64 / sizeof(double));
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t stride = sizeof(double);
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return darray(shape, strides, owner.mutable_data() + skip, owner);
}

}  // namespace sharpdyn::bindings
