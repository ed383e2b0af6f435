// Period detection from an orbit: after the transient, record 2 * max_period states and report
// the smallest p in [1, max_period] with |s[i + p] - s[i]| <= tol * max(1, |s[i]|) for every
// i < max_period and every state component; 0 if there is none (chaotic, quasi-periodic, or a
// period above max_period, or not yet converged to tol), -1 if the orbit diverged within the
// n_transient + 2 max_period - 1 steps iterated. Interrupts as in orbit_kernels.hpp.
#pragma once

#include <cstdint>

#include "core/interrupt.hpp"

namespace sharpdyn::orbit {

// states: (2 * max_period, dim) row-major.
std::int64_t detect_period(const double* states, std::int64_t max_period, int dim, double tol);

void cubic_periods(const double* r, const double* x0, std::int64_t count, std::int64_t n_transient,
                   std::int64_t max_period, double tol, std::int64_t* period, int threads,
                   Interrupt& stop = never_interrupted());

void uv_periods(const double* Y, const double* g0, const double* z0, std::int64_t count,
                std::int64_t n_transient, std::int64_t max_period, double tol,
                std::int64_t* period, int threads, Interrupt& stop = never_interrupted());

}  // namespace sharpdyn::orbit
