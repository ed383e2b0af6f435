#include <pybind11/stl.h>

#include "bindings/arrays.hpp"
#include "bindings/interrupt.hpp"
#include "bindings/registry.hpp"
#include "core/doubling.hpp"
#include "core/lyapunov.hpp"
#include "core/orbit.hpp"
#include "core/orbit_kernels.hpp"
#include "core/uv_normalized.hpp"

namespace sharpdyn::bindings {

namespace {
orbit::Observable to_observable(int code) {
  if (code < 0 || code > 3) throw std::invalid_argument("observable: unknown code");
  return static_cast<orbit::Observable>(code);
}
}  // namespace

void register_chaos(py::module_& m) {
  m.def(
      "cubic_orbits",
      [](const darray& r, const darray& x0, std::int64_t n_transient, std::int64_t n_keep,
         int observable, bool continuation, int threads, const std::string& isa) {
        const Isa path = isa_from_name(isa);
        const py::ssize_t n = r.size();
        require_size(x0, n, "x0");
        const auto obs = to_observable(observable);
        darray out = line_aligned_array({n, static_cast<py::ssize_t>(n_keep)});
        i64array at(n);
        PythonInterrupt guard;
        {
          py::gil_scoped_release release;
          orbit::cubic_orbits(r.data(), x0.data(), n, n_transient, n_keep, obs, continuation,
                              out.mutable_data(), at.mutable_data(), threads, path, guard.interrupt());
        }
        guard.raise_if_stopped();
        return py::make_tuple(out, at);
      },
      py::arg("r"), py::arg("x0"), py::arg("n_transient"), py::arg("n_keep"),
      py::arg("observable"), py::arg("continuation"), py::arg("threads") = 0, py::arg("isa") = "auto",
      "Cubic-map orbits: (states (count, n_keep), diverged_at (count)).");

  m.def(
      "uv_orbits",
      [](const darray& Y, const darray& g0, const darray& z0, std::int64_t n_transient,
         std::int64_t n_keep, int observable, bool continuation, int threads, const std::string& isa) {
        const Isa path = isa_from_name(isa);
        const py::ssize_t n = Y.size();
        require_size(g0, n, "g0");
        require_size(z0, n, "z0");
        const auto obs = to_observable(observable);
        const py::ssize_t dim = orbit::uv_observable_dim(obs);
        darray out({n, static_cast<py::ssize_t>(n_keep), dim});
        i64array at(n);
        PythonInterrupt guard;
        {
          py::gil_scoped_release release;
          orbit::uv_orbits(Y.data(), g0.data(), z0.data(), n, n_transient, n_keep, obs,
                           continuation, out.mutable_data(), at.mutable_data(), threads, path,
                           guard.interrupt());
        }
        guard.raise_if_stopped();
        return py::make_tuple(out, at);
      },
      py::arg("Y"), py::arg("g0"), py::arg("z0"), py::arg("n_transient"), py::arg("n_keep"),
      py::arg("observable"), py::arg("continuation"), py::arg("threads") = 0, py::arg("isa") = "auto",
      "UV normalised-map orbits: (states (count, n_keep, dim), diverged_at (count)).");

  m.def(
      "cubic_periods",
      [](const darray& r, const darray& x0, std::int64_t n_transient, std::int64_t max_period,
         double tol, int threads) {
        const py::ssize_t n = r.size();
        require_size(x0, n, "x0");
        i64array period(n);
        PythonInterrupt guard;
        {
          py::gil_scoped_release release;
          orbit::cubic_periods(r.data(), x0.data(), n, n_transient, max_period, tol,
                               period.mutable_data(), threads, guard.interrupt());
        }
        guard.raise_if_stopped();
        return period;
      },
      py::arg("r"), py::arg("x0"), py::arg("n_transient"), py::arg("max_period"), py::arg("tol"),
      py::arg("threads") = 0);

  m.def(
      "uv_periods",
      [](const darray& Y, const darray& g0, const darray& z0, std::int64_t n_transient,
         std::int64_t max_period, double tol, int threads) {
        const py::ssize_t n = Y.size();
        require_size(g0, n, "g0");
        require_size(z0, n, "z0");
        i64array period(n);
        PythonInterrupt guard;
        {
          py::gil_scoped_release release;
          orbit::uv_periods(Y.data(), g0.data(), z0.data(), n, n_transient, max_period, tol,
                            period.mutable_data(), threads, guard.interrupt());
        }
        guard.raise_if_stopped();
        return period;
      },
      py::arg("Y"), py::arg("g0"), py::arg("z0"), py::arg("n_transient"), py::arg("max_period"),
      py::arg("tol"), py::arg("threads") = 0);

  m.def(
      "cubic_lyapunov",
      [](const darray& r, const darray& x0, std::int64_t n_transient, std::int64_t n_steps,
         int threads, const std::string& isa) {
        const Isa path = isa_from_name(isa);
        const py::ssize_t n = r.size();
        require_size(x0, n, "x0");
        darray lam(n);
        i64array at(n);
        PythonInterrupt guard;
        {
          py::gil_scoped_release release;
          lyapunov::cubic(r.data(), x0.data(), n, n_transient, n_steps, lam.mutable_data(),
                          at.mutable_data(), threads, path, guard.interrupt());
        }
        guard.raise_if_stopped();
        return py::make_tuple(lam, at);
      },
      py::arg("r"), py::arg("x0"), py::arg("n_transient"), py::arg("n_steps"),
      py::arg("threads") = 0, py::arg("isa") = "auto");

  m.def(
      "uv_lyapunov_spectrum",
      [](const darray& Y, const darray& g0, const darray& z0, std::int64_t n_transient,
         std::int64_t n_steps, int threads) {
        const py::ssize_t n = Y.size();
        require_size(g0, n, "g0");
        require_size(z0, n, "z0");
        darray spec({n, py::ssize_t{2}});
        i64array at(n);
        PythonInterrupt guard;
        {
          py::gil_scoped_release release;
          lyapunov::uv_spectrum(Y.data(), g0.data(), z0.data(), n, n_transient, n_steps,
                                spec.mutable_data(), at.mutable_data(), threads, guard.interrupt());
        }
        guard.raise_if_stopped();
        return py::make_tuple(spec, at);
      },
      py::arg("Y"), py::arg("g0"), py::arg("z0"), py::arg("n_transient"), py::arg("n_steps"),
      py::arg("threads") = 0);

  m.def(
      "cubic_doubling_points",
      [](int count, int max_iter) {
        std::vector<doubling::Point> pts;
        {
          py::gil_scoped_release release;
          pts = doubling::cubic_doubling_points(count, max_iter);
        }
        const py::ssize_t n = static_cast<py::ssize_t>(pts.size());
        darray r(n), x(n), mult(n), unc(n), sup(n);
        i64array period(n), iters(n);
        for (py::ssize_t i = 0; i < n; ++i) {
          const auto& p = pts[static_cast<std::size_t>(i)];
          r.mutable_at(i) = p.r;
          x.mutable_at(i) = p.x;
          mult.mutable_at(i) = p.multiplier;
          unc.mutable_at(i) = p.uncertainty;
          sup.mutable_at(i) = p.superstable;
          period.mutable_at(i) = p.period;
          iters.mutable_at(i) = p.iterations;
        }
        py::dict d;
        d["r"] = r;
        d["x"] = x;
        d["multiplier"] = mult;
        d["uncertainty"] = unc;
        d["superstable"] = sup;
        d["period"] = period;
        d["iterations"] = iters;
        return d;
      },
      py::arg("count"), py::arg("max_iter") = 60);

  m.def(
      "cubic_find_cycle",
      [](double r, double x_guess, std::int64_t p, int max_iter) {
        const doubling::Cycle c = doubling::cubic_find_cycle(r, x_guess, p, max_iter);
        return py::make_tuple(c.x, c.multiplier, c.iterations, c.converged);
      },
      py::arg("r"), py::arg("x_guess"), py::arg("period"), py::arg("max_iter") = 60,
      "Newton on f^p(x) = x at fixed r: (x, multiplier, iterations, converged).");

  m.def(
      "cubic_cycle_derivatives",
      [](double x0, double r, std::int64_t p) {
        const doubling::CycleDerivatives d = doubling::cubic_cycle_derivatives(x0, r, p);
        return py::make_tuple(d.x, d.a, d.b, d.c, d.e);
      },
      py::arg("x0"), py::arg("r"), py::arg("period"),
      "(x_p, dx_p/dx0, dx_p/dr, d2x_p/dx0^2, d2x_p/dx0 dr)");

  m.def(
      "uv_product_jacobian",
      [](double g, double z, double Y, std::int64_t p) {
        const uvn::Jacobian M = uvn::product_jacobian(g, z, Y, p);
        darray J({py::ssize_t{2}, py::ssize_t{2}});
        J.mutable_at(0, 0) = M.gg;
        J.mutable_at(0, 1) = M.gz;
        J.mutable_at(1, 0) = M.zg;
        J.mutable_at(1, 1) = M.zz;
        return py::make_tuple(g, z, J);
      },
      py::arg("g"), py::arg("z"), py::arg("Y"), py::arg("period"),
      "Iterate p steps: (g_p, z_p, product of the 2x2 Jacobians along the way).");
}

}  // namespace sharpdyn::bindings
