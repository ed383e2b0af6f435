#include "core/uv_momentum.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "core/parallel.hpp"
#include "core/uv_model.hpp"

namespace sharpdyn::uv {

namespace {

struct Observed {
  double f, ntk;
};

// h = u x, f = gamma v.h, ntk = gamma^2 (|h|^2 + |v|^2 |x|^2): the same arithmetic, in the same
// order, as uv::train's observation, so b = 0 reproduces its numbers bit for bit.
inline Observed observe_point(const double* u, const double* v, const double* x, double x2,
                              double gamma, std::int64_t n, std::int64_t d, double* h) {
  double vh = 0.0, hh = 0.0, vv = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    double hi = 0.0;
    const double* ui = u + i * d;
    for (std::int64_t j = 0; j < d; ++j) hi += ui[j] * x[j];
    h[i] = hi;
    vh += v[i] * hi;
    hh += hi * hi;
    vv += v[i] * v[i];
  }
  return {gamma * vh, gamma * gamma * (hh + vv * x2)};
}

}  // namespace

void train_momentum(const double* u0, const double* v0, const double* x, const double* lr,
                    const double* momentum, double y, double gamma, std::int64_t batch,
                    std::int64_t n, std::int64_t d, std::int64_t steps, double* loss_out,
                    double* f_out, double* ntk_out, double* sharp_out, std::uint8_t* diverged,
                    std::int64_t* diverged_at, double* u_final, double* v_final, int threads) {
  double x2 = 0.0;
  for (std::int64_t j = 0; j < d; ++j) x2 += x[j] * x[j];
  const double kappa = gamma * gamma * x2;
  const std::int64_t T1 = steps + 1;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const int nt = resolve_threads(threads);

#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (std::int64_t b = 0; b < batch; ++b) {
    double* u = u_final + b * n * d;
    double* v = v_final + b * n;
    for (std::int64_t k = 0; k < n * d; ++k) u[k] = u0[b * n * d + k];
    for (std::int64_t k = 0; k < n; ++k) v[k] = v0[b * n + k];
    std::vector<double> h(static_cast<std::size_t>(n));
    std::vector<double> du(static_cast<std::size_t>(n * d), 0.0), dv(static_cast<std::size_t>(n), 0.0);
    const double eta = lr[b];
    const double mom = momentum[b];
    double* L = loss_out + b * T1;
    double* F = f_out + b * T1;
    double* K = ntk_out + b * T1;
    double* S = sharp_out + b * T1;
    diverged[b] = 0;
    diverged_at[b] = -1;

    Observed s = observe_point(u, v, x, x2, gamma, n, d, h.data());
    const double bound = divergence_bound(s.f, y);
    for (std::int64_t t = 0; t <= steps; ++t) {
      if (t > 0) {
        // simultaneous update: eta grad_u = g v x^T, eta grad_v = g h with g = eta gamma df
        const double g = eta * gamma * (s.f - y);
        for (std::int64_t i = 0; i < n; ++i) {
          const double vi = v[i];
          double* ui = u + i * d;
          double* dui = du.data() + i * d;
          for (std::int64_t j = 0; j < d; ++j) {
            dui[j] = mom * dui[j] + g * vi * x[j];
            ui[j] -= dui[j];
          }
          dv[i] = mom * dv[i] + g * h[i];
          v[i] = vi - dv[i];
        }
        s = observe_point(u, v, x, x2, gamma, n, d, h.data());
      }
      if (is_diverged(s.f, s.ntk, y, bound)) {
        diverged[b] = 1;
        diverged_at[b] = t;
        for (std::int64_t r = t; r <= steps; ++r) L[r] = F[r] = K[r] = S[r] = nan;
        break;
      }
      L[t] = loss(s.f, y);
      F[t] = s.f;
      K[t] = s.ntk;
      S[t] = sharpness(s.f, s.ntk, kappa, y);
    }
  }
}

}  // namespace sharpdyn::uv
