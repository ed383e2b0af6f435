#include "core/lyapunov.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/cubic_map.hpp"
#include "core/interrupt.hpp"
#include "core/orbit_kernels.hpp"
#include "core/parallel.hpp"
#include "core/simd_dispatch.hpp"
#include "core/uv_normalized.hpp"

namespace sharpdyn::lyapunov {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMaxFinite = std::numeric_limits<double>::max();
constexpr std::int64_t kPollSteps = std::int64_t{1} << 16;  // scalar steps between interrupt checks

// The last step of the chunk of at most kPollSteps steps that starts at t0 (<= last).
inline std::int64_t chunk_end(std::int64_t t0, std::int64_t last) {
  return last - t0 < kPollSteps ? last : t0 + kPollSteps - 1;
}

// Flush the running product into the log sum well before it could over/underflow.
inline void accumulate(double factor, double& product, double& log_sum) {
  product *= factor;
  if (!(product >= 1e-150 && product <= 1e150)) {
    log_sum += std::log(product);
    product = 1.0;
  }
}
}  // namespace

namespace {

// The scalar average of log|f'| over n_steps from x (after n_transient steps); at = the step out
// of bounds, or -1.
// Returns NaN early if interrupted.
double cubic_average_scalar(double x, double r, double bound, std::int64_t n_transient,
                            std::int64_t n_steps, std::int64_t& at, PollCounter& poll) {
  double product = 1.0, log_sum = 0.0;
  at = -1;
  for (std::int64_t t0 = 1; at < 0 && t0 <= n_steps; t0 += kPollSteps) {
    const std::int64_t t1 = chunk_end(t0, n_steps);
    for (std::int64_t t = t0; at < 0 && t <= t1; ++t) {
      accumulate(std::fabs(cubic::dfdx(x, r)), product, log_sum);
      x = cubic::step(x, r);
      if (!(std::fabs(x) <= bound)) at = n_transient + t;
    }
    if (poll.add(t1 - t0 + 1)) return kNaN;
  }
  return at >= 0 ? kNaN : (log_sum + std::log(product)) / static_cast<double>(n_steps);
}

#ifdef SHARPDYN_GCC_X86_VECTORS
#define SHARPDYN_LYAPUNOV_LANES 1

// SIMD across parameters, as the orbit kernel: kLanes lanes held in NV vectors of W doubles.
// Per step each lane multiplies its running product by |r (1 - 3x^2)| and steps x; every 8th
// step (and at the end of a call) the product's binary exponent is moved into esum and the
// product reset to its mantissa in [1, 2), with bit operations only, so no log is taken in the
// loop. A product that reached 0, a subnormal or inf/NaN within 8 steps marks the lane `bad`
// (it is then redone by the scalar loop). Every SIMD path gives the same bits.
constexpr int kLanes = 64;
constexpr std::int64_t kCheckEvery = 256;

template <class V, class VI, int NV>
SHARPDYN_ALWAYS_INLINE void log_derivative_lanes(double* x, const double* r, double* prod, double* esum,
                                                 long long* bad, std::int64_t steps) {
  constexpr int W = static_cast<int>(sizeof(V) / sizeof(double));
  static_assert(sizeof(VI) == sizeof(V), "integer lanes must match");
  static_assert(kLanes % (NV * W) == 0, "lanes must be a whole number of register groups");
  const VI abs_mask = VI{} | 0x7fffffffffffffffLL;
  for (int base = 0; base < kLanes; base += NV * W) {
    V xs[NV], rs[NV], ps[NV], es[NV];
    VI bs[NV];
    for (int v = 0; v < NV; ++v) {
      const int o = base + v * W;
      std::memcpy(&xs[v], x + o, sizeof(V));
      std::memcpy(&rs[v], r + o, sizeof(V));
      std::memcpy(&ps[v], prod + o, sizeof(V));
      std::memcpy(&es[v], esum + o, sizeof(V));
      std::memcpy(&bs[v], bad + o, sizeof(V));
    }
    for (std::int64_t t = 0; t < steps; ++t) {
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        V d = rs[v] * (1.0 - 3.0 * xs[v] * xs[v]);
        VI db;
        std::memcpy(&db, &d, sizeof(V));
        db &= abs_mask;
        std::memcpy(&d, &db, sizeof(V));
        ps[v] *= d;
        xs[v] = rs[v] * xs[v] * (1.0 - xs[v] * xs[v]);
      }
      if ((t & 7) == 7 || t + 1 == steps) {
        for (int v = 0; v < NV; ++v) {
          VI bits;
          std::memcpy(&bits, &ps[v], sizeof(V));
          const VI e = (bits >> 52) & 0x7ff;
          bs[v] |= (e == 0) | (e == 0x7ff);
          const VI mant = (bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL;
          std::memcpy(&ps[v], &mant, sizeof(V));
          const VI ebits = e | 0x4330000000000000LL;  // 2^52 + e as a double
          V ed;
          std::memcpy(&ed, &ebits, sizeof(V));
          es[v] += (ed - 4503599627370496.0) - 1023.0;
        }
      }
    }
    for (int v = 0; v < NV; ++v) {
      const int o = base + v * W;
      std::memcpy(x + o, &xs[v], sizeof(V));
      std::memcpy(prod + o, &ps[v], sizeof(V));
      std::memcpy(esum + o, &es[v], sizeof(V));
      std::memcpy(bad + o, &bs[v], sizeof(V));
    }
  }
}

typedef double v8d __attribute__((vector_size(64)));
typedef long long v8i __attribute__((vector_size(64)));
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4i __attribute__((vector_size(32)));
typedef double v2d __attribute__((vector_size(16)));
typedef long long v2i __attribute__((vector_size(16)));

__attribute__((target("avx512f"))) void log_derivative_avx512(double* x, const double* r, double* p,
                                                                double* e, long long* b, std::int64_t s) {
  log_derivative_lanes<v8d, v8i, 8>(x, r, p, e, b, s);
}
__attribute__((target("avx2"))) void log_derivative_avx2(double* x, const double* r, double* p, double* e,
                                                          long long* b, std::int64_t s) {
  log_derivative_lanes<v4d, v4i, 8>(x, r, p, e, b, s);
}
void log_derivative_baseline(double* x, const double* r, double* p, double* e, long long* b, std::int64_t s) {
  log_derivative_lanes<v2d, v2i, 8>(x, r, p, e, b, s);
}

using LogDerivativeFn = void (*)(double*, const double*, double*, double*, long long*, std::int64_t);
// The path `isa` (resolved: never kAuto).
LogDerivativeFn log_derivative_for(Isa isa) {
  if (isa == Isa::kAvx512) return log_derivative_avx512;
  if (isa == Isa::kAvx2) return log_derivative_avx2;
  return log_derivative_baseline;
}

void cubic_block(LogDerivativeFn log_derivative, const double* r_in, const double* x0,
                 const double* start, int n, std::int64_t n_transient,
                 std::int64_t n_steps, double* exponent, std::int64_t* at, PollCounter& poll) {
  alignas(64) double x[kLanes], r[kLanes], prod[kLanes], esum[kLanes], saved[kLanes], bound[kLanes];
  alignas(64) long long bad[kLanes];
  for (int j = 0; j < kLanes; ++j) {
    const bool live = j < n && at[j] < 0;  // padding and diverged lanes run r = x = 0
    x[j] = live ? start[j] : 0.0;
    r[j] = live ? r_in[j] : 0.0;
    prod[j] = 1.0;
    esum[j] = 0.0;
    bad[j] = 0;
    bound[j] = j < n ? cubic::divergence_bound(x0[j], r_in[j]) : 0.0;
  }
  for (std::int64_t s = 0; s < n_steps;) {
    const std::int64_t c = std::min(kCheckEvery, n_steps - s);
    std::copy(x, x + kLanes, saved);
    log_derivative(x, r, prod, esum, bad, c);
    for (int j = 0; j < n; ++j) {  // first step out of bounds, by replaying the chunk (exact: no return)
      if (at[j] >= 0 || std::fabs(x[j]) <= bound[j]) continue;
      double v = saved[j];
      for (std::int64_t t = 1; t <= c; ++t) {
        v = cubic::step(v, r[j]);
        if (!(std::fabs(v) <= bound[j])) {
          at[j] = n_transient + s + t;
          break;
        }
      }
    }
    s += c;
    if (poll.add(c * kLanes)) return;  // interrupted: the outputs are discarded
  }
  constexpr double ln2 = 0.693147180559945309417232121458;
  for (int j = 0; j < n; ++j) {
    if (at[j] >= 0) {
      exponent[j] = kNaN;
    } else if (bad[j]) {
      exponent[j] = cubic_average_scalar(start[j], r_in[j], bound[j], n_transient, n_steps, at[j], poll);
    } else {
      exponent[j] = (esum[j] * ln2 + std::log(prod[j])) / static_cast<double>(n_steps);
    }
  }
}
#endif

}  // namespace

void cubic(const double* r, const double* x0, std::int64_t count, std::int64_t n_transient,
           std::int64_t n_steps, double* exponent, std::int64_t* diverged_at, int threads,
           Isa isa, Interrupt& stop) {
  const Isa path = resolve_isa(isa);
  // the transient by the SIMD orbit kernel (same arithmetic, so the same states as a scalar loop)
  std::vector<double> start(static_cast<std::size_t>(count));
  orbit::cubic_orbits(r, x0, count, n_transient, 1, orbit::Observable::State, false, start.data(),
                      diverged_at, threads, path, stop);
  if (stop.stop_requested()) return;
#ifdef SHARPDYN_LYAPUNOV_LANES
  const LogDerivativeFn log_derivative = log_derivative_for(path);
  const std::int64_t blocks = (count + kLanes - 1) / kLanes;
  team_for(blocks, threads, stop, TeamLoop{std::int64_t{1} << 20, 1}, [&](std::int64_t b, PollCounter& poll) {
    const std::int64_t i0 = b * kLanes;
    const int n = static_cast<int>(std::min<std::int64_t>(kLanes, count - i0));
    cubic_block(log_derivative, r + i0, x0 + i0, start.data() + i0, n, n_transient, n_steps,
                exponent + i0, diverged_at + i0, poll);
  });
#else
  team_for(count, threads, stop, TeamLoop{kPollSteps, 16}, [&](std::int64_t i, PollCounter& poll) {
    if (diverged_at[i] >= 0) {
      exponent[i] = kNaN;
      return;
    }
    exponent[i] = cubic_average_scalar(start[static_cast<std::size_t>(i)], r[i],
                                       cubic::divergence_bound(x0[i], r[i]), n_transient, n_steps,
                                       diverged_at[i], poll);
  });
#endif
}

void uv_spectrum(const double* Y, const double* g0, const double* z0, std::int64_t count,
                 std::int64_t n_transient, std::int64_t n_steps, double* spectrum,
                 std::int64_t* diverged_at, int threads, Interrupt& stop) {
  team_for(count, threads, stop, TeamLoop{kPollSteps, 16, 1}, [&](std::int64_t i, PollCounter& poll) {
    const double y = Y[i];
    const double bound = uvn::divergence_bound(g0[i], y);
    double g = g0[i], z = z0[i];
    auto out_of_bounds = [&] { return !(std::fabs(g) <= bound && std::fabs(z) <= kMaxFinite); };
    std::int64_t at = -1;
    for (std::int64_t t0 = 1; at < 0 && t0 <= n_transient; t0 += kPollSteps) {
      const std::int64_t t1 = chunk_end(t0, n_transient);
      for (std::int64_t t = t0; t <= t1; ++t) {
        uvn::step(g, z, y);
        if (out_of_bounds()) {
          at = t;
          break;
        }
      }
      if (poll.add(t1 - t0 + 1)) break;
    }
    // orthonormal frame: columns (q11, q21), (q12, q22)
    double q11 = 1.0, q21 = 0.0, q12 = 0.0, q22 = 1.0;
    double p1 = 1.0, s1 = 0.0, p2 = 1.0, s2 = 0.0;
    for (std::int64_t t0 = 1; at < 0 && t0 <= n_steps && !poll.stop_requested(); t0 += kPollSteps) {
      const std::int64_t t1 = chunk_end(t0, n_steps);
      for (std::int64_t t = t0; at < 0 && t <= t1; ++t) {
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
      poll.add(t1 - t0 + 1);
    }
    diverged_at[i] = at;
    const double N = static_cast<double>(n_steps);
    spectrum[2 * i] = at >= 0 ? kNaN : (s1 + std::log(p1)) / N;
    spectrum[2 * i + 1] = at >= 0 ? kNaN : (s2 + std::log(p2)) / N;
  });
}

}  // namespace sharpdyn::lyapunov
