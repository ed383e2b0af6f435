// Period-doubling points of the cubic map x' = r x (1 - x^2), located by Newton's method on
// exact cycle derivatives.
//
// For a period-p cycle through x at parameter r, iterate x_{t+1} = f(x_t; r) from x_0 = x and
// carry forward-mode derivatives:
//   a = dx_p/dx_0   (the cycle multiplier, the product of f'(x_t) around the cycle)
//   b = dx_p/dr,    c = da/dx_0,   e = da/dr.
// Doubling point k (the period-2^(k-1) cycle loses stability to period 2^k) solves
//   x_p(x, r) - x = 0,  a(x, r) + 1 = 0,  p = 2^(k-1),
// a 2x2 Newton system in (x, r). Each cycle is followed from the last: the superstable
// parameter s_k (the critical point 1/sqrt(3) lies on the cycle, multiplier 0) is found by a
// 1-D Newton solve started from r_(k-1) + rho (r_(k-1) - s_(k-1)), with rho the previous
// ratio, and the multiplier is then walked from 0 to -1 in four Newton continuation stages.
#pragma once

#include <cstdint>
#include <vector>

namespace sharpdyn::doubling {

struct CycleDerivatives {
  double x;  // x_p
  double a, b, c, e;
};

CycleDerivatives cubic_cycle_derivatives(double x0, double r, std::int64_t p);

struct Cycle {
  double x;           // a point of the cycle
  double multiplier;  // product of f' around the cycle
  int iterations;
  bool converged;
};

// Newton on x_p(x) - x = 0 at fixed r from x_guess.
Cycle cubic_find_cycle(double r, double x_guess, std::int64_t p, int max_iter);

struct Point {
  double r;            // the doubling parameter
  double x;            // a point of the period-p cycle there
  double multiplier;   // a at the solution (-1 up to rounding)
  double uncertainty;  // estimated error of r (last Newton step and rounding of a)
  double superstable;  // s_k
  std::int64_t period; // p = 2^(k-1), the period that loses stability
  int iterations;      // Newton iterations in total
};

// Up to `count` doubling points; stops early (returning fewer) when Newton no longer converges
// or the points stop increasing, which happens where double precision runs out.
std::vector<Point> cubic_doubling_points(int count, int max_iter);

}  // namespace sharpdyn::doubling
