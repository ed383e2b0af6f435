#include <pybind11/stl.h>

#include "bindings/arrays.hpp"
#include "bindings/interrupt.hpp"
#include "bindings/registry.hpp"
#include "core/uv_model.hpp"

namespace sharpdyn::bindings {

namespace {

// The function-map entry points take flat arrays of one length; returns it.
py::ssize_t flat_map_inputs(const darray& f0, const darray& lam0, const darray& lr, const darray& kappa,
                            const darray& y) {
  const py::ssize_t n = f0.size();
  require_size(lam0, n, "ntk");
  require_size(lr, n, "lr");
  require_size(kappa, n, "kappa");
  require_size(y, n, "y");
  return n;
}

}  // namespace

void register_uv(py::module_& m) {
  m.def(
      "uv_function_map",
      [](const darray& f0, const darray& lam0, const darray& lr, const darray& kappa,
         const darray& y, std::int64_t steps, int threads) {
        const py::ssize_t n = flat_map_inputs(f0, lam0, lr, kappa, y);
        darray f_out(n), lam_out(n);
        i64array at(n);
        PythonInterrupt guard;
        {
          py::gil_scoped_release release;
          uv::function_map(f0.data(), lam0.data(), lr.data(), kappa.data(), y.data(), n, steps,
                           f_out.mutable_data(), lam_out.mutable_data(), at.mutable_data(),
                           threads, guard.interrupt());
        }
        guard.raise_if_stopped();
        return py::make_tuple(f_out, lam_out, at);
      },
      py::arg("f0"), py::arg("ntk0"), py::arg("lr"), py::arg("kappa"), py::arg("y"),
      py::arg("steps"), py::arg("threads") = 0,
      "Flat arrays of equal length in; (f, ntk, diverged_at) out.");

  m.def(
      "uv_function_trajectory",
      [](const darray& f0, const darray& lam0, const darray& lr, const darray& kappa,
         const darray& y, std::int64_t steps, int threads) {
        const py::ssize_t n = flat_map_inputs(f0, lam0, lr, kappa, y);
        const py::ssize_t T1 = steps + 1;
        darray f_rec({n, T1}), lam_rec({n, T1});
        i64array at(n);
        PythonInterrupt guard;
        {
          py::gil_scoped_release release;
          uv::function_trajectory(f0.data(), lam0.data(), lr.data(), kappa.data(), y.data(), n,
                                  steps, f_rec.mutable_data(), lam_rec.mutable_data(),
                                  at.mutable_data(), threads, guard.interrupt());
        }
        guard.raise_if_stopped();
        return py::make_tuple(f_rec, lam_rec, at);
      },
      py::arg("f0"), py::arg("ntk0"), py::arg("lr"), py::arg("kappa"), py::arg("y"),
      py::arg("steps"), py::arg("threads") = 0,
      "Flat arrays of equal length in; recorded (f, ntk) of shape (n, steps + 1) and "
      "diverged_at out.");

  m.def(
      "uv_train",
      [](const darray& u0, const darray& v0, const darray& x, const darray& lr, double y,
         double gamma, std::int64_t steps, int threads) {
        if (u0.ndim() != 3) throw std::invalid_argument("u0: expected shape (batch, n, d)");
        const auto batch = u0.shape(0), n = u0.shape(1), d = u0.shape(2);
        require_size(v0, batch * n, "v0");
        require_size(x, d, "x");
        require_size(lr, batch, "lr");
        const py::ssize_t T1 = steps + 1;
        darray loss({batch, T1}), f({batch, T1}), ntk({batch, T1}), sharp({batch, T1});
        u8array diverged(batch);
        i64array at(batch);
        darray u_final({batch, n, d}), v_final({batch, n});
        PythonInterrupt guard;
        {
          py::gil_scoped_release release;
          uv::train(u0.data(), v0.data(), x.data(), lr.data(), y, gamma, batch, n, d, steps,
                    loss.mutable_data(), f.mutable_data(), ntk.mutable_data(),
                    sharp.mutable_data(), diverged.mutable_data(), at.mutable_data(),
                    u_final.mutable_data(), v_final.mutable_data(), threads, guard.interrupt());
        }
        guard.raise_if_stopped();
        return py::make_tuple(loss, f, ntk, sharp, diverged, at, u_final, v_final);
      },
      py::arg("u0"), py::arg("v0"), py::arg("x"), py::arg("lr"), py::arg("y"), py::arg("gamma"),
      py::arg("steps"), py::arg("threads") = 0,
      "Parameter-space GD for a batch of UV runs; returns (loss, f, ntk, sharpness, diverged, "
      "diverged_at, u, v).");
}

}  // namespace sharpdyn::bindings
