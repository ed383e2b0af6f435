#include "bindings/arrays.hpp"
#include "bindings/registry.hpp"
#include "core/uv_momentum.hpp"

namespace sharpdyn::bindings {

void register_momentum(py::module_& m) {
  m.def(
      "uv_train_momentum",
      [](const darray& u0, const darray& v0, const darray& x, const darray& lr, const darray& momentum,
         double y, double gamma, std::int64_t steps, int threads) {
        if (u0.ndim() != 3) throw std::invalid_argument("u0: expected shape (batch, n, d)");
        if (steps < 0) throw std::invalid_argument("steps: must be >= 0");
        const auto batch = u0.shape(0), n = u0.shape(1), d = u0.shape(2);
        require_size(v0, batch * n, "v0");
        require_size(x, d, "x");
        require_size(lr, batch, "lr");
        require_size(momentum, batch, "momentum");
        const py::ssize_t T1 = steps + 1;
        darray loss({batch, T1}), f({batch, T1}), ntk({batch, T1}), sharp({batch, T1});
        u8array diverged(batch);
        i64array at(batch);
        darray u_final({batch, n, d}), v_final({batch, n});
        {
          py::gil_scoped_release release;
          uv::train_momentum(u0.data(), v0.data(), x.data(), lr.data(), momentum.data(), y, gamma, batch, n, d,
                             steps, loss.mutable_data(), f.mutable_data(), ntk.mutable_data(),
                             sharp.mutable_data(), diverged.mutable_data(), at.mutable_data(),
                             u_final.mutable_data(), v_final.mutable_data(), threads);
        }
        return py::make_tuple(loss, f, ntk, sharp, diverged, at, u_final, v_final);
      },
      py::arg("u0"), py::arg("v0"), py::arg("x"), py::arg("lr"), py::arg("momentum"), py::arg("y"),
      py::arg("gamma"), py::arg("steps"), py::arg("threads") = 0,
      "Parameter-space heavy-ball GD for a batch of UV runs (lr and momentum per run); returns "
      "(loss, f, ntk, sharpness, diverged, diverged_at, u, v).");
}

}  // namespace sharpdyn::bindings
