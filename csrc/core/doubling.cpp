#include "core/doubling.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/cubic_map.hpp"

namespace sharpdyn::doubling {

namespace {
constexpr double kEps = std::numeric_limits<double>::epsilon();
}

CycleDerivatives cubic_cycle_derivatives(double x0, double r, std::int64_t p) {
  double x = x0, a = 1.0, b = 0.0, c = 0.0, e = 0.0;
  for (std::int64_t t = 0; t < p; ++t) {
    const double fx = cubic::dfdx(x, r), fxx = cubic::d2fdx2(x, r);
    const double fr = cubic::dfdr(x), fxr = cubic::d2fdxdr(x);
    // order matters: each update uses the previous a and b
    const double c_new = fxx * a * a + fx * c;
    const double e_new = (fxx * b + fxr) * a + fx * e;
    const double b_new = fx * b + fr;
    const double a_new = fx * a;
    x = cubic::step(x, r);
    a = a_new;
    b = b_new;
    c = c_new;
    e = e_new;
  }
  return {x, a, b, c, e};
}

Cycle cubic_find_cycle(double r, double x_guess, std::int64_t p, int max_iter) {
  // converged at |dx| <= 4 ulp, or once steps below 1e-9 stop shrinking (rounding floor)
  double x = x_guess, prev = HUGE_VAL;
  for (int it = 1; it <= max_iter; ++it) {
    const CycleDerivatives d = cubic_cycle_derivatives(x, r, p);
    const double dx = -(d.x - x) / (d.a - 1.0);
    if (!std::isfinite(dx)) break;
    x += dx;
    const double step = std::fabs(dx), scale = std::max(1.0, std::fabs(x));
    const bool floor = prev < 1e-9 * scale && step > 0.25 * prev;
    prev = step;
    if (step <= 4.0 * kEps * scale || floor) {
      return {x, cubic_cycle_derivatives(x, r, p).a, it, true};
    }
  }
  return {x, cubic_cycle_derivatives(x, r, p).a, max_iter, false};
}

namespace {

// Newton's method stops converging quadratically at the rounding floor, where its steps
// wander by a few ulps (more for long cycles). A step counts as "at the floor" once it is below
// kFloorStart relative and no longer shrinks by 4x; the solver then takes kNoiseIterations more
// steps and returns their median, with half their spread as the noise estimate.
constexpr double kFloorStart = 1e-9;
constexpr int kNoiseIterations = 9;

struct NoiseFloor {
  double values[kNoiseIterations];
  double xs[kNoiseIterations];
  int n = 0;
};

double median_and_spread(NoiseFloor& nf, double& x_at_median, double& half_spread) {
  int idx[kNoiseIterations];
  for (int i = 0; i < nf.n; ++i) idx[i] = i;
  std::sort(idx, idx + nf.n, [&](int a, int b) { return nf.values[a] < nf.values[b]; });
  const int mid = idx[nf.n / 2];
  x_at_median = nf.xs[mid];
  half_spread = 0.5 * (nf.values[idx[nf.n - 1]] - nf.values[idx[0]]);
  return nf.values[mid];
}

struct Solve {
  double x, r, noise;
  int iterations;
  bool converged;
};

// 2x2 Newton for x_p(x, r) = x, a(x, r) = target.
Solve solve_multiplier(double x, double r, std::int64_t p, double target, int max_iter) {
  double prev = HUGE_VAL;
  NoiseFloor nf;
  for (int it = 1; it <= max_iter; ++it) {
    const CycleDerivatives d = cubic_cycle_derivatives(x, r, p);
    const double F1 = d.x - x, F2 = d.a - target;
    const double j11 = d.a - 1.0, j12 = d.b, j21 = d.c, j22 = d.e;
    const double det = j11 * j22 - j12 * j21;
    const double dx = -(F1 * j22 - j12 * F2) / det;
    const double dr = -(j11 * F2 - j21 * F1) / det;
    if (!std::isfinite(dx) || !std::isfinite(dr)) return {x, r, HUGE_VAL, it, false};
    x += dx;
    r += dr;
    const double step = std::fabs(dr);
    if (nf.n > 0 || step == 0.0 || (prev < kFloorStart * std::fabs(r) && step > 0.25 * prev)) {
      nf.values[nf.n] = r;
      nf.xs[nf.n] = x;
      if (++nf.n == kNoiseIterations || step == 0.0) {
        double xm, spread;
        const double rm = median_and_spread(nf, xm, spread);
        return {xm, rm, spread, it, true};
      }
    }
    prev = step;
  }
  return {x, r, HUGE_VAL, max_iter, false};
}

struct Superstable {
  double r;
  int iterations;
  bool converged;
};

// 1-D Newton for x_p(x_c; r) = x_c, with the same stopping rule.
Superstable solve_superstable(double r, std::int64_t p, int max_iter) {
  const double xc = cubic::critical_point();
  double prev = HUGE_VAL;
  NoiseFloor nf;
  for (int it = 1; it <= max_iter; ++it) {
    const CycleDerivatives d = cubic_cycle_derivatives(xc, r, p);
    const double dr = -(d.x - xc) / d.b;
    if (!std::isfinite(dr)) return {r, it, false};
    r += dr;
    const double step = std::fabs(dr);
    if (nf.n > 0 || step == 0.0 || (prev < kFloorStart * std::fabs(r) && step > 0.25 * prev)) {
      nf.values[nf.n] = r;
      nf.xs[nf.n] = xc;
      if (++nf.n == kNoiseIterations || step == 0.0) {
        double xm, spread;
        return {median_and_spread(nf, xm, spread), it, true};
      }
    }
    prev = step;
  }
  return {r, max_iter, false};
}

}  // namespace

std::vector<Point> cubic_doubling_points(int count, int max_iter) {
  std::vector<Point> points;
  double rho = 0.25;  // (s_k - r_(k-1)) / (r_(k-1) - s_(k-1)), updated as points are found
  for (int k = 1; k <= count; ++k) {
    const std::int64_t p = std::int64_t{1} << (k - 1);
    double guess;
    if (k == 1) {
      guess = 1.5;  // f(x_c) = x_c  <=>  r (1 - 1/3) = 1
    } else {
      const Point& prev = points.back();
      guess = prev.r + rho * (prev.r - prev.superstable);
    }
    const Superstable s = solve_superstable(guess, p, max_iter);
    if (!s.converged || (k > 1 && !(s.r > points.back().r))) break;
    double x = cubic::critical_point(), r = s.r;
    int iterations = s.iterations;
    bool ok = true;
    double noise = 0.0;
    for (double target : {-0.25, -0.5, -0.75, -1.0}) {
      const Solve sol = solve_multiplier(x, r, p, target, max_iter);
      iterations += sol.iterations;
      if (!sol.converged) {
        ok = false;
        break;
      }
      x = sol.x;
      r = sol.r;
      noise = sol.noise;
    }
    if (!ok || !(r > s.r) || (k > 1 && !(r > points.back().r))) break;
    const CycleDerivatives d = cubic_cycle_derivatives(x, r, p);
    // total derivative of the multiplier along the cycle branch: e - c b / (a - 1)
    const double dadr = d.e - d.c * d.b / (d.a - 1.0);
    const double rounding = static_cast<double>(p) * kEps * (1.0 + std::fabs(d.a)) / std::fabs(dadr);
    const double uncertainty = std::max(noise, rounding) + kEps * std::fabs(r);
    if (k > 1) {
      const Point& prev = points.back();
      rho = (s.r - prev.r) / (prev.r - prev.superstable);
    }
    points.push_back({r, x, d.a, uncertainty, s.r, p, iterations});
  }
  return points;
}

}  // namespace sharpdyn::doubling
