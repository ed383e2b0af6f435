#include "core/lyapunov.hpp"

#include <cmath>
#include <limits>

#include <vector>

#include "core/cubic_map.hpp"
#include "core/orbit_kernels.hpp"
#include "core/parallel.hpp"
#include "core/uv_normalized.hpp"

namespace sharpdyn::lyapunov {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMaxFinite = std::numeric_limits<double>::max();

// Flush the running product into the log sum well before it could over/underflow.
inline void accumulate(double factor, double& product, double& log_sum) {
  product *= factor;
  if (!(product >= 1e-150 && product <= 1e150)) {
    log_sum += std::log(product);
    product = 1.0;
  }
}
}  // namespace

void cubic(const double* r, const double* x0, std::int64_t count, std::int64_t n_transient,
           std::int64_t n_steps, double* exponent, std::int64_t* diverged_at, int threads) {
  // the transient by the SIMD orbit kernel (same arithmetic, so the same states as a scalar loop)
  std::vector<double> start(static_cast<std::size_t>(count));
  orbit::cubic_orbits(r, x0, count, n_transient, 1, orbit::Observable::State, false, start.data(),
                      diverged_at, threads);
  const int nt = resolve_threads(threads);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16)
  for (std::int64_t i = 0; i < count; ++i) {
    if (diverged_at[i] >= 0) {
      exponent[i] = kNaN;
      continue;
    }
    const double rr = r[i];
    const double bound = cubic::divergence_bound(x0[i], rr);
    double x = start[static_cast<std::size_t>(i)];
    std::int64_t at = -1;
    double product = 1.0, log_sum = 0.0;
    for (std::int64_t t = 1; at < 0 && t <= n_steps; ++t) {
      accumulate(std::fabs(cubic::dfdx(x, rr)), product, log_sum);
      x = cubic::step(x, rr);
      if (!(std::fabs(x) <= bound)) at = n_transient + t;
    }
    diverged_at[i] = at;
    exponent[i] = at >= 0 ? kNaN : (log_sum + std::log(product)) / static_cast<double>(n_steps);
  }
}

void uv_spectrum(const double* Y, const double* g0, const double* z0, std::int64_t count,
                 std::int64_t n_transient, std::int64_t n_steps, double* spectrum,
                 std::int64_t* diverged_at, int threads) {
  const int nt = resolve_threads(threads);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16)
  for (std::int64_t i = 0; i < count; ++i) {
    const double y = Y[i];
    const double bound = uvn::divergence_bound(g0[i], y);
    double g = g0[i], z = z0[i];
    auto out_of_bounds = [&] { return !(std::fabs(g) <= bound && std::fabs(z) <= kMaxFinite); };
    std::int64_t at = -1;
    for (std::int64_t t = 1; t <= n_transient; ++t) {
      uvn::step(g, z, y);
      if (out_of_bounds()) {
        at = t;
        break;
      }
    }
    // orthonormal frame: columns (q11, q21), (q12, q22)
    double q11 = 1.0, q21 = 0.0, q12 = 0.0, q22 = 1.0;
    double p1 = 1.0, s1 = 0.0, p2 = 1.0, s2 = 0.0;
    for (std::int64_t t = 1; at < 0 && t <= n_steps; ++t) {
      const uvn::Jacobian J = uvn::jacobian(g, z, y);
      double m11 = J.gg * q11 + J.gz * q21, m21 = J.zg * q11 + J.zz * q21;
      double m12 = J.gg * q12 + J.gz * q22, m22 = J.zg * q12 + J.zz * q22;
      const double r11 = std::hypot(m11, m21);
      q11 = m11 / r11;
      q21 = m21 / r11;
      const double proj = q11 * m12 + q21 * m22;
      m12 -= proj * q11;
      m22 -= proj * q21;
      const double r22 = std::hypot(m12, m22);
      q12 = m12 / r22;
      q22 = m22 / r22;
      accumulate(r11, p1, s1);
      accumulate(r22, p2, s2);
      uvn::step(g, z, y);
      if (out_of_bounds()) at = n_transient + t;
    }
    diverged_at[i] = at;
    const double N = static_cast<double>(n_steps);
    spectrum[2 * i] = at >= 0 ? kNaN : (s1 + std::log(p1)) / N;
    spectrum[2 * i + 1] = at >= 0 ? kNaN : (s2 + std::log(p2)) / N;
  }
}

}  // namespace sharpdyn::lyapunov
