// The cubic map: gradient descent on the sub-quadratic loss L(theta) = (a theta^2 - b)^2 / 2.
//
// Derivation (a, b > 0, step eta > 0). L'(theta) = 2 a theta (a theta^2 - b), so one GD step is
//   theta' = theta - eta L'(theta) = (1 + 2 eta a b) theta - 2 eta a^2 theta^3.
// With r = 1 + 2 eta a b and x = theta * sqrt(2 eta a^2 / r) (r > 0) this is exactly
//   x' = r x (1 - x^2).
// The minimum theta*^2 = b/a maps to the fixed point x*^2 = 1 - 1/r, where the curvature is
// L''(theta*) = 2a(3a theta*^2 - b) = 4ab, so eta*lambda = 4 eta a b = 2(r - 1), i.e.
//   r = 1 + eta*lambda / 2.
// The multiplier f'(x*) = r(1 - 3 x*^2) = 3 - 2r = 1 - eta*lambda: the fixed point is stable for
// 1 < r < 2 and flips (period doubling) exactly at r = 2, eta*lambda = 2. The flip-born 2-cycle
// {p, q} has p^2 + q^2 = 1, pq = 1/r and multiplier 9 - 2 r^2, so it flips at r = sqrt(5).
// For 0 < r <= 3 the interval [-sqrt(1 + 1/r), sqrt(1 + 1/r)] is invariant; for r > 3 almost
// every orbit escapes. Beyond |x| > sqrt(1 + 1/|r|), |x| grows monotonically (escape).
//
// Observables, in the map's own dimensionless units (they equal the UV model's eta*lambda_H and
// eta^2 kappa L on its invariant line, see uv_normalized.hpp):
//   sharpness  eta L''(theta) = 3 r x^2 - (r - 1)
//   loss       4 eta^2 a^2 L(theta) = (r x^2 - (r - 1))^2 / 2
#pragma once

#include <cmath>

namespace sharpdyn::cubic {

inline double step(double x, double r) noexcept { return r * x * (1.0 - x * x); }

// df/dx, d2f/dx2, df/dr, d2f/dxdr
inline double dfdx(double x, double r) noexcept { return r * (1.0 - 3.0 * x * x); }
inline double d2fdx2(double x, double r) noexcept { return -6.0 * r * x; }
inline double dfdr(double x) noexcept { return x * (1.0 - x * x); }
inline double d2fdxdr(double x) noexcept { return 1.0 - 3.0 * x * x; }

inline double sharpness(double x, double r) noexcept { return 3.0 * r * x * x - (r - 1.0); }

inline double loss(double x, double r) noexcept {
  const double g = r * x * x - (r - 1.0);
  return 0.5 * g * g;
}

// The critical point of f (f'(x_c) = 0 for r != 0): superstable cycles pass through it.
inline double critical_point() noexcept { return 0.5773502691896257645; }  // 1/sqrt(3)

// An orbit has diverged once |x| exceeds this bound. It is at least twice the escape radius
// sqrt(1 + 1/|r|), beyond which |x| grows monotonically, so an orbit that crosses it never
// returns: checking it every few steps finds the same first crossing as checking every step.
inline double divergence_bound(double x0, double r) noexcept {
  const double escape = r == 0.0 ? HUGE_VAL : 2.0 * std::sqrt(1.0 + 1.0 / std::fabs(r));
  const double bound = 1e6 * (std::fabs(x0) + 1.0);
  return bound > escape ? bound : escape;
}

}  // namespace sharpdyn::cubic
