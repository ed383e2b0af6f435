#include <string>

#include "bindings/arrays.hpp"
#include "bindings/interrupt.hpp"
#include "bindings/registry.hpp"
#include "core/grid_scan.hpp"
#include "core/simd_dispatch.hpp"

namespace sharpdyn::bindings {

namespace {

scan::UvScanOptions scan_options(std::int64_t steps, std::int64_t late_window,
                                 std::int64_t sharpness_every, double converged_rtol,
                                 double loss_increase_rtol, int threads, const std::string& isa) {
  scan::UvScanOptions opt;
  opt.steps = steps;
  opt.late_window = late_window;
  opt.sharpness_every = sharpness_every;
  opt.converged_rtol = converged_rtol;
  opt.loss_increase_rtol = loss_increase_rtol;
  opt.threads = threads;
  opt.isa = isa_from_name(isa);
  return opt;
}

// The per-point statistics both grid kernels write, allocated for n points.
struct Statistics {
  explicit Statistics(py::ssize_t n)
      : loss0(n), max_loss(n), final_loss(n), s0(n), s_final(n), s_min(n), s_max(n), s_late(n),
        at(n), conv(n), increase(n) {}

  py::dict to_dict() const {
    py::dict d;
    d["diverged_at"] = at;
    d["initial_loss"] = loss0;
    d["max_loss"] = max_loss;
    d["final_loss"] = final_loss;
    d["initial_sharpness"] = s0;
    d["final_sharpness"] = s_final;
    d["min_sharpness"] = s_min;
    d["max_sharpness"] = s_max;
    d["late_max_sharpness"] = s_late;
    d["late_loss_increase"] = increase;
    d["converged_at"] = conv;
    return d;
  }

  darray loss0, max_loss, final_loss, s0, s_final, s_min, s_max, s_late;
  i64array at, conv;
  u8array increase;
};

}  // namespace

void register_scan(py::module_& m) {
  m.def(
      "uv_scan",
      [](const darray& f0, const darray& ntk0, const darray& lr, const darray& kappa,
         const darray& y, std::int64_t steps, std::int64_t late_window,
         std::int64_t sharpness_every, double converged_rtol, double loss_increase_rtol,
         int threads, const std::string& isa) {
        const py::ssize_t n = f0.size();
        require_size(ntk0, n, "ntk0");
        require_size(lr, n, "lr");
        require_size(kappa, n, "kappa");
        require_size(y, n, "y");
        const auto opt = scan_options(steps, late_window, sharpness_every, converged_rtol,
                                      loss_increase_rtol, threads, isa);
        darray f(n), ntk(n);
        Statistics st(n);
        const scan::UvScanInput in{f0.data(), ntk0.data(), lr.data(), kappa.data(), y.data(), n};
        const scan::UvScanOutput out{
            f.mutable_data(),        ntk.mutable_data(),        st.at.mutable_data(),
            st.loss0.mutable_data(), st.max_loss.mutable_data(), st.final_loss.mutable_data(),
            st.s0.mutable_data(),    st.s_final.mutable_data(),  st.s_min.mutable_data(),
            st.s_max.mutable_data(), st.s_late.mutable_data(),   st.increase.mutable_data(),
            st.conv.mutable_data()};
        PythonInterrupt guard;
        {
          py::gil_scoped_release release;
          scan::uv_scan(in, opt, out, guard.interrupt());
        }
        guard.raise_if_stopped();
        py::dict d = st.to_dict();
        d["f"] = f;
        d["ntk"] = ntk;
        return d;
      },
      py::arg("f0"), py::arg("ntk0"), py::arg("lr"), py::arg("kappa"), py::arg("y"),
      py::arg("steps"), py::arg("late_window"), py::arg("sharpness_every") = 1,
      py::arg("converged_rtol") = 1e-10, py::arg("loss_increase_rtol") = 1e-12,
      py::arg("threads") = 0, py::arg("isa") = "auto",
      "UV function-map grid scan over flat arrays of equal length; returns a dict of per-point "
      "arrays (final state, diverged_at, loss and sharpness statistics).");

  m.def(
      "cubic_scan",
      [](const darray& r, const darray& x0, std::int64_t steps, std::int64_t late_window,
         std::int64_t sharpness_every, double converged_rtol, double loss_increase_rtol,
         int threads, const std::string& isa) {
        const py::ssize_t n = r.size();
        require_size(x0, n, "x0");
        const auto opt = scan_options(steps, late_window, sharpness_every, converged_rtol,
                                      loss_increase_rtol, threads, isa);
        darray x(n);
        Statistics st(n);
        const scan::CubicScanInput in{r.data(), x0.data(), n};
        const scan::CubicScanOutput out{
            x.mutable_data(),          st.at.mutable_data(),    st.loss0.mutable_data(),
            st.max_loss.mutable_data(), st.final_loss.mutable_data(), st.s0.mutable_data(),
            st.s_final.mutable_data(), st.s_min.mutable_data(), st.s_max.mutable_data(),
            st.s_late.mutable_data(),  st.increase.mutable_data(), st.conv.mutable_data()};
        PythonInterrupt guard;
        {
          py::gil_scoped_release release;
          scan::cubic_scan(in, opt, out, guard.interrupt());
        }
        guard.raise_if_stopped();
        py::dict d = st.to_dict();
        d["x"] = x;
        return d;
      },
      py::arg("r"), py::arg("x0"), py::arg("steps"), py::arg("late_window"),
      py::arg("sharpness_every") = 1, py::arg("converged_rtol") = 1e-10,
      py::arg("loss_increase_rtol") = 1e-12, py::arg("threads") = 0,
      py::arg("isa") = "auto",
      "Cubic-map grid scan over flat arrays r, x0 of equal length; returns a dict of per-point "
      "arrays (final x, diverged_at, loss and sharpness statistics in map units).");

  m.def(
      "simd_isa", [](const std::string& isa) { return std::string(isa_name(resolve_isa(isa_from_name(isa)))); },
      py::arg("isa") = "auto",
      "The SIMD path every kernel with an isa= argument runs for this name on this CPU "
      "('auto': the widest available); ValueError if it cannot run here.");
  m.def(
      "simd_isa_available",
      [](const std::string& isa) { return isa_available(isa_from_name(isa)); },
      py::arg("isa"), "Whether the kernels can run this SIMD path here.");
}

}  // namespace sharpdyn::bindings
