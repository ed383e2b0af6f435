// The UV model: a two-layer linear network f = gamma * v^T (u x) of width n on one
// example (x in R^d, y), loss L = (f - y)^2 / 2, trained by gradient descent.
//
// Function space. With kappa = gamma^2 |x|^2, df = f - y and lambda = |grad f|^2
// (the NTK), one GD step of size eta is exactly
//   f'      = f - eta*lambda*df + eta^2*kappa*f*df^2
//   lambda' = lambda + eta*kappa*df*(eta*lambda*df - 4 f)
// and the sharpness (top Hessian eigenvalue) is
//   lambda_H = lambda/2 + sqrt(lambda^2/4 + kappa*df*(3f - y)).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/interrupt.hpp"

namespace sharpdyn::uv {

// One exact function-space GD step, in place.
inline void function_step(double& f, double& lam, double lr, double kappa, double y) noexcept {
  const double df = f - y;
  const double f_new = f - lr * lam * df + lr * lr * kappa * f * df * df;
  const double lam_new = lam + lr * kappa * df * (lr * lam * df - 4.0 * f);
  f = f_new;
  lam = lam_new;
}

// Exact sharpness of L = (f - y)^2/2 for the UV model at (f, lambda).
inline double sharpness(double f, double lam, double kappa, double y) noexcept {
  const double df = f - y;
  double rad = 0.25 * lam * lam + kappa * df * (3.0 * f - y);
  if (rad < 0.0) rad = 0.0;  // only reachable through rounding at lambda ~ 0
  return 0.5 * lam + std::sqrt(rad);
}

inline double loss(double f, double y) noexcept {
  const double df = f - y;
  return 0.5 * df * df;
}

// A run has diverged once |f - y| exceeds this bound (or is not finite). The bound
// is relative to the run's own scale, so it is unit-free; past it the cubic term
// of the map makes |f - y| grow super-exponentially, so the exact value of the
// factor does not change which runs diverge, only the step that reports it by a
// step or two.
constexpr double kDivergenceFactor = 1e6;

inline double divergence_bound(double f0, double y) noexcept {
  return kDivergenceFactor * (std::fabs(f0 - y) + std::fabs(y) + 1.0);
}

inline bool is_diverged(double f, double lam, double y, double bound) noexcept {
  return !(std::fabs(f - y) <= bound) || !std::isfinite(lam);
}

// Every kernel here checks `stop` between blocks of steps (interrupt.hpp) and returns early
// once a stop is requested; its outputs are then incomplete and must be discarded.

// Iterate the function-space map `steps` times from every element (independent
// points; arrays of length count, broadcast by the caller). A point that leaves
// its divergence bound stops there: f is set to +-inf (sign of f - y), lambda to
// +inf, and diverged_at[i] to the step (1-based) at which it left; otherwise
// diverged_at[i] = -1.
void function_map(const double* f0, const double* lam0, const double* lr, const double* kappa,
                  const double* y, std::int64_t count, std::int64_t steps, double* f_out,
                  double* lam_out, std::int64_t* diverged_at, int threads,
                  Interrupt& stop = never_interrupted());

// Like function_map, but records every state: f_rec and lam_rec are (count, steps + 1)
// row-major, index 0 = the initial state. A run that leaves its divergence bound (taken
// from its initial state, as in function_map) stops; the entries from that step on are NaN
// and diverged_at[i] is the step, else -1.
void function_trajectory(const double* f0, const double* lam0, const double* lr,
                         const double* kappa, const double* y, std::int64_t count,
                         std::int64_t steps, double* f_rec, double* lam_rec,
                         std::int64_t* diverged_at, int threads,
                         Interrupt& stop = never_interrupted());

// Parameter-space gradient descent on (u, v) for a batch of runs.
//   u0: (batch, n, d) row-major, v0: (batch, n), x: (d), lr: (batch)
//   records (batch, steps + 1) arrays loss, f, ntk, sharpness (index 0 = initial).
// A run that diverges stops; its later entries are NaN (documented "no data"),
// diverged[b] = 1 and diverged_at[b] = the first step whose state is out of
// bounds; else diverged_at[b] = -1.
void train(const double* u0, const double* v0, const double* x, const double* lr, double y,
           double gamma, std::int64_t batch, std::int64_t n, std::int64_t d, std::int64_t steps,
           double* loss, double* f, double* ntk, double* sharp, std::uint8_t* diverged,
           std::int64_t* diverged_at, double* u_final, double* v_final, int threads,
           Interrupt& stop = never_interrupted());

}  // namespace sharpdyn::uv
