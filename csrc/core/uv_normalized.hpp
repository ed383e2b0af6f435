// The UV model's GD map in normalised variables (see uv_model.hpp for the physical map):
//   g = eta sqrt(kappa) (f - y),  z = eta lambda,  Y = eta sqrt(kappa) y,
//   g' = g (1 - z + g (g + Y)),   z' = z + g (z g - 4 (g + Y)).
// Derivation: f' - y = df - eta lambda df + eta^2 kappa f df^2; multiply by eta sqrt(kappa) and
// use eta^2 kappa f df = (g + Y) g. lambda' = lambda + eta kappa df (eta lambda df - 4 f); multiply
// by eta. The exact sharpness is eta lambda_H = z/2 + sqrt(z^2/4 + g (3g + 2Y)) and the loss is
// L = g^2 / (2 eta^2 kappa), so the normalised loss is g^2 / 2.
//
// Invariant line (balanced layers, u x parallel to v |x|): z = 2 (g + Y). On it, with
// w = g + Y = eta sqrt(kappa) f, the map is w' = w (1 + Y - w)^2, and x = sqrt(w / (1 + Y)) obeys
// the cubic map x' = r x (1 - x^2) with r = 1 + Y (for the branch x >= 0; the cubic map is odd,
// so |x| follows the same law). There g = r x^2 - (r - 1) and eta lambda_H = 3 r x^2 - (r - 1)
// whenever 2 r x^2 >= r - 1: the UV sharpness and loss equal the cubic map's observables.
#pragma once

#include <cmath>

namespace sharpdyn::uvn {

struct Jacobian {
  double gg, gz, zg, zz;  // d g'/dg, d g'/dz, d z'/dg, d z'/dz
};

inline void step(double& g, double& z, double Y) noexcept {
  const double gn = g * (1.0 - z + g * (g + Y));
  const double zn = z + g * (z * g - 4.0 * (g + Y));
  g = gn;
  z = zn;
}

inline Jacobian jacobian(double g, double z, double Y) noexcept {
  return {1.0 - z + 3.0 * g * g + 2.0 * g * Y, -g, 2.0 * z * g - 8.0 * g - 4.0 * Y, 1.0 + g * g};
}

inline double sharpness(double g, double z, double Y) noexcept {
  double rad = 0.25 * z * z + g * (3.0 * g + 2.0 * Y);
  if (rad < 0.0) rad = 0.0;  // only through rounding near z = 0
  return 0.5 * z + std::sqrt(rad);
}

inline double loss(double g) noexcept { return 0.5 * g * g; }

// Iterate p steps from (g, z) and return the product of the Jacobians along the way,
// J_{p-1} ... J_1 J_0 (its eigenvalues are the multipliers of a period-p cycle through (g, z)).
inline Jacobian product_jacobian(double& g, double& z, double Y, long long p) noexcept {
  Jacobian M{1.0, 0.0, 0.0, 1.0};
  for (long long t = 0; t < p; ++t) {
    const Jacobian J = jacobian(g, z, Y);
    M = {J.gg * M.gg + J.gz * M.zg, J.gg * M.gz + J.gz * M.zz, J.zg * M.gg + J.zz * M.zg,
         J.zg * M.gz + J.zz * M.zz};
    step(g, z, Y);
  }
  return M;
}

// As the physical map (uv_model.hpp): diverged once |g| > 1e6 (|g0| + |Y| + 1) or z is not finite.
inline double divergence_bound(double g0, double Y) noexcept {
  return 1e6 * (std::fabs(g0) + std::fabs(Y) + 1.0);
}

}  // namespace sharpdyn::uvn
