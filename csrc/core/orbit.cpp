#include "core/orbit.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/orbit_kernels.hpp"
#include "core/parallel.hpp"

namespace sharpdyn::orbit {

std::int64_t detect_period(const double* states, std::int64_t max_period, int dim, double tol) {
  const std::int64_t m = max_period * dim;
  for (std::int64_t p = 1; p <= max_period; ++p) {
    const double* shifted = states + p * dim;
    bool match = true;
    for (std::int64_t i = 0; i < m && match; ++i) {
      const double a = states[i];
      match = std::fabs(shifted[i] - a) <= tol * std::max(1.0, std::fabs(a));
    }
    if (match) return p;
  }
  return 0;
}

namespace {

template <class Run>
void periods_by_block(std::int64_t count, std::int64_t max_period, int dim, double tol,
                      std::int64_t* period, int threads, Interrupt& stop, Run run) {
  const std::int64_t blocks = (count + kBlock - 1) / kBlock;
  const std::int64_t K = 2 * max_period;
  const int nt = resolve_threads(threads);
  TeamLatch latch(stop);
#pragma omp parallel num_threads(nt)
  {
    std::vector<double> states(static_cast<std::size_t>(kBlock * K * dim));
    std::int64_t at[kBlock];
#pragma omp for schedule(dynamic, 1) nowait
    for (std::int64_t b = 0; b < blocks; ++b) {
      if (stop.stop_requested()) continue;
      const std::int64_t i0 = b * kBlock;
      const std::int64_t n = std::min<std::int64_t>(kBlock, count - i0);
      run(i0, n, K, states.data(), at);  // checks `stop` (the orbit kernels do)
      if (stop.stop_requested()) continue;
      for (std::int64_t j = 0; j < n; ++j) {
        period[i0 + j] = at[j] >= 0 ? -1 : detect_period(states.data() + j * K * dim, max_period, dim, tol);
      }
    }
    latch.arrive();
  }
}

}  // namespace

void cubic_periods(const double* r, const double* x0, std::int64_t count, std::int64_t n_transient,
                   std::int64_t max_period, double tol, std::int64_t* period, int threads,
                   Interrupt& stop) {
  periods_by_block(count, max_period, 1, tol, period, threads, stop,
                   [&](std::int64_t i0, std::int64_t n, std::int64_t K, double* states, std::int64_t* at) {
                     cubic_orbits(r + i0, x0 + i0, n, n_transient, K, Observable::State, false,
                                  states, at, 1, Isa::kAuto, stop);
                   });
}

void uv_periods(const double* Y, const double* g0, const double* z0, std::int64_t count,
                std::int64_t n_transient, std::int64_t max_period, double tol,
                std::int64_t* period, int threads, Interrupt& stop) {
  periods_by_block(count, max_period, 2, tol, period, threads, stop,
                   [&](std::int64_t i0, std::int64_t n, std::int64_t K, double* states, std::int64_t* at) {
                     uv_orbits(Y + i0, g0 + i0, z0 + i0, n, n_transient, K, Observable::State,
                               false, states, at, 1, Isa::kAuto, stop);
                   });
}

}  // namespace sharpdyn::orbit
