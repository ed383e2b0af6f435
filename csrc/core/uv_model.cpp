#include "core/uv_model.hpp"

#include <vector>

#include "core/parallel.hpp"

namespace sharpdyn::uv {

namespace {
// Steps between interrupt checks in the scalar loops (~0.5 ms of work; interrupt.hpp).
constexpr std::int64_t kPollSteps = std::int64_t{1} << 16;
}  // namespace

void function_map(const double* f0, const double* lam0, const double* lr, const double* kappa,
                  const double* y, std::int64_t count, std::int64_t steps, double* f_out,
                  double* lam_out, std::int64_t* diverged_at, int threads, Interrupt& stop) {
  team_for(count, threads, stop, TeamLoop{kPollSteps, 0, 1}, [&](std::int64_t i, PollCounter& poll) {
    double f = f0[i], lam = lam0[i];
    const double eta = lr[i], k = kappa[i], yy = y[i];
    const double bound = divergence_bound(f, yy);
    std::int64_t at = -1;
    for (std::int64_t t0 = 1; t0 <= steps; t0 += kPollSteps) {
      const std::int64_t t1 = steps - t0 < kPollSteps ? steps : t0 + kPollSteps - 1;
      for (std::int64_t t = t0; t <= t1; ++t) {
        function_step(f, lam, eta, k, yy);
        if (is_diverged(f, lam, yy, bound)) {
          at = t;
          break;
        }
      }
      if (at >= 0 || poll.add(t1 - t0 + 1)) break;
    }
    if (at >= 0) {
      f = (f - yy) >= 0.0 || std::isnan(f) ? std::numeric_limits<double>::infinity()
                                          : -std::numeric_limits<double>::infinity();
      lam = std::numeric_limits<double>::infinity();
    }
    f_out[i] = f;
    lam_out[i] = lam;
    diverged_at[i] = at;
  });
}

void function_trajectory(const double* f0, const double* lam0, const double* lr,
                         const double* kappa, const double* y, std::int64_t count,
                         std::int64_t steps, double* f_rec, double* lam_rec,
                         std::int64_t* diverged_at, int threads, Interrupt& stop) {
  const std::int64_t T1 = steps + 1;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  team_for(count, threads, stop, TeamLoop{kPollSteps, 0, 1}, [&](std::int64_t i, PollCounter& poll) {
    double* F = f_rec + i * T1;
    double* K = lam_rec + i * T1;
    double f = f0[i], lam = lam0[i];
    const double eta = lr[i], k = kappa[i], yy = y[i];
    const double bound = divergence_bound(f, yy);
    F[0] = f;
    K[0] = lam;
    std::int64_t at = -1;
    for (std::int64_t t0 = 1; t0 <= steps; t0 += kPollSteps) {
      const std::int64_t t1 = steps - t0 < kPollSteps ? steps : t0 + kPollSteps - 1;
      for (std::int64_t t = t0; t <= t1; ++t) {
        function_step(f, lam, eta, k, yy);
        if (is_diverged(f, lam, yy, bound)) {
          at = t;
          for (std::int64_t r = t; r <= steps; ++r) F[r] = K[r] = nan;
          break;
        }
        F[t] = f;
        K[t] = lam;
      }
      if (at >= 0 || poll.add(t1 - t0 + 1)) break;
    }
    diverged_at[i] = at;
  });
}

namespace {

struct State {
  double f, ntk;
};

// h = u x, f = gamma v.h, ntk = gamma^2 (|h|^2 + |v|^2 |x|^2)
inline State observe(const double* u, const double* v, const double* x, double x2, double gamma,
                     std::int64_t n, std::int64_t d, double* h) {
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

void train(const double* u0, const double* v0, const double* x, const double* lr, double y,
           double gamma, std::int64_t batch, std::int64_t n, std::int64_t d, std::int64_t steps,
           double* loss_out, double* f_out, double* ntk_out, double* sharp_out,
           std::uint8_t* diverged, std::int64_t* diverged_at, double* u_final, double* v_final,
           int threads, Interrupt& stop) {
  double x2 = 0.0;
  for (std::int64_t j = 0; j < d; ++j) x2 += x[j] * x[j];
  const double kappa = gamma * gamma * x2;
  const std::int64_t T1 = steps + 1;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::int64_t work_per_step = n * (d + 1) + 1;  // poll about every kPollSteps scalar updates
  team_for(batch, threads, stop, TeamLoop{kPollSteps, 1, 1}, [&](std::int64_t b, PollCounter& poll) {
    double* u = u_final + b * n * d;
    double* v = v_final + b * n;
    for (std::int64_t k = 0; k < n * d; ++k) u[k] = u0[b * n * d + k];
    for (std::int64_t k = 0; k < n; ++k) v[k] = v0[b * n + k];
    std::vector<double> h(static_cast<std::size_t>(n));
    const double eta = lr[b];
    double* L = loss_out + b * T1;
    double* F = f_out + b * T1;
    double* K = ntk_out + b * T1;
    double* S = sharp_out + b * T1;
    diverged[b] = 0;
    diverged_at[b] = -1;

    State s = observe(u, v, x, x2, gamma, n, d, h.data());
    const double bound = divergence_bound(s.f, y);
    for (std::int64_t t = 0; t <= steps; ++t) {
      if (t > 0) {
        // simultaneous update: grad_u = gamma df v x^T, grad_v = gamma df h
        const double g = eta * gamma * (s.f - y);
        for (std::int64_t i = 0; i < n; ++i) {
          const double vi = v[i];
          double* ui = u + i * d;
          for (std::int64_t j = 0; j < d; ++j) ui[j] -= g * vi * x[j];
          v[i] = vi - g * h[i];
        }
        s = observe(u, v, x, x2, gamma, n, d, h.data());
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
      if (poll.add(work_per_step)) break;
    }
  });
}

}  // namespace sharpdyn::uv
