#include "core/grid_scan.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/cubic_map.hpp"
#include "core/interrupt.hpp"
#include "core/parallel.hpp"
#include "core/uv_model.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define SHARPDYN_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define SHARPDYN_ALWAYS_INLINE inline
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SHARPDYN_X86_DISPATCH 1
#endif

namespace sharpdyn::scan {
namespace {

constexpr int kBlock = 64;  // lanes per block (eight AVX-512 registers per variable)
constexpr std::int64_t kChunk = 64;  // steps between divergence checks
constexpr std::int64_t kPollWork = std::int64_t{1} << 18;  // lane-steps between interrupt checks
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Params {
  std::int64_t steps, late_start, every;  // T, first late state T + 1 - W, k
  double conv_ratio;                      // |df| <= conv_ratio |df_0| counts as converged
  double increase_factor;                 // L_s > L_{s-1} * increase_factor is an increase
};

// The per-point arithmetic, written once and used by both the SIMD lanes and the exact
// scalar replay. Each line is the expression of uv_model.hpp in the same order:
//   f - lr*lam*df + lr*lr*kappa*f*df*df    with a = lr*lr*kappa
//   lam + lr*kappa*df*(lr*lam*df - 4 f)    with b = lr*kappa
SHARPDYN_ALWAYS_INLINE void advance(double& f, double& l, double df, double lr, double a,
                                    double b) {
  const double q = lr * l * df;
  const double f_new = f - q + a * f * df * df;
  const double l_new = l + b * df * (q - 4.0 * f);
  f = f_new;
  l = l_new;
}

SHARPDYN_ALWAYS_INLINE double sharpness(double f, double l, double df, double kappa, double y) {
  double rad = 0.25 * l * l + kappa * df * (3.0 * f - y);
  rad = rad < 0.0 ? 0.0 : rad;
  return 0.5 * l + std::sqrt(rad);
}

struct alignas(64) Lanes {
  // state and per-point constants
  double f[kBlock], l[kBlock], lr[kBlock], a[kBlock], b[kBlock], kappa[kBlock], y[kBlock],
      bound[kBlock];
  // statistics
  double loss0[kBlock], sharp0[kBlock], max_abs[kBlock], max_loss[kBlock], min_s[kBlock], max_s[kBlock],
      late_s[kBlock], prev_loss[kBlock], increase[kBlock], last_loss[kBlock], last_s[kBlock];
  double conv_tol[kBlock], last_above[kBlock];  // convergence: |df| <= conv_tol from then on
  double bad[kBlock];  // 1: a state of the current chunk left its bound
};

// What a chunk replay needs to restart a lane.
struct alignas(64) Saved {
  double f[kBlock], l[kBlock], max_abs[kBlock], min_s[kBlock], max_s[kBlock], late_s[kBlock],
      prev_loss[kBlock], increase[kBlock];
};

SHARPDYN_ALWAYS_INLINE void save(const Lanes& B, Saved& S) {
  std::memcpy(S.f, B.f, sizeof S.f);
  std::memcpy(S.l, B.l, sizeof S.l);
  std::memcpy(S.max_abs, B.max_abs, sizeof S.max_abs);
  std::memcpy(S.min_s, B.min_s, sizeof S.min_s);
  std::memcpy(S.max_s, B.max_s, sizeof S.max_s);
  std::memcpy(S.late_s, B.late_s, sizeof S.late_s);
  std::memcpy(S.prev_loss, B.prev_loss, sizeof S.prev_loss);
  std::memcpy(S.increase, B.increase, sizeof S.increase);
}

// Statistics of the current state of every lane, then (if Advance) one GD step.
//   First: state 0 (initial loss/sharpness, no bound test, not part of max_loss)
//   Sample: state enters min/max sharpness; Late: state is in the late window;
//   Increase: the previous state is in the late window too.
template <bool First, bool Sample, bool Late, bool Increase, bool Advance>
SHARPDYN_ALWAYS_INLINE void lanes_state(Lanes& B, double state, double increase_factor) {
#pragma omp simd
  for (int j = 0; j < kBlock; ++j) {
    double f = B.f[j], l = B.l[j];
    const double df = f - B.y[j];
    [[maybe_unused]] const double L = 0.5 * df * df;
    if constexpr (First) {
      B.loss0[j] = L;
    } else {
      // max |df| both tests the bound (a NaN sticks until the chunk ends, as f stays NaN)
      // and gives max_loss = 0.5 M M exactly (rounding is monotone, L is even in df).
      const double adf = std::fabs(df);
      B.max_abs[j] = (B.max_abs[j] > adf) ? B.max_abs[j] : adf;
      if constexpr (Sample) B.last_above[j] = (adf > B.conv_tol[j]) ? state : B.last_above[j];
    }
    if constexpr (Late) {
      if constexpr (Increase) B.increase[j] = (L > B.prev_loss[j] * increase_factor) ? 1.0 : B.increase[j];
      B.prev_loss[j] = L;
    }
    if constexpr (First || Sample || Late || !Advance) {
      const double S = sharpness(f, l, df, B.kappa[j], B.y[j]);
      if constexpr (First) B.sharp0[j] = S;
      if constexpr (Sample) {
        B.min_s[j] = (S < B.min_s[j]) ? S : B.min_s[j];
        B.max_s[j] = (S > B.max_s[j]) ? S : B.max_s[j];
      }
      if constexpr (Late) B.late_s[j] = (S > B.late_s[j]) ? S : B.late_s[j];
      if constexpr (!Advance) {
        B.last_loss[j] = L;
        B.last_s[j] = S;
      }
    }
    if constexpr (Advance) {
      advance(f, l, df, B.lr[j], B.a[j], B.b[j]);
      B.f[j] = f;
      B.l[j] = l;
    }
  }
}

// State s < T of the block (block-uniform flags), followed by the step to s + 1.
SHARPDYN_ALWAYS_INLINE void lanes_advance(Lanes& B, std::int64_t s, bool sample, const Params& p) {
  const bool late = s >= p.late_start;
  const double sd = static_cast<double>(s);
  if (s == 0) {
    if (late)
      lanes_state<true, true, true, false, true>(B, sd, p.increase_factor);
    else
      lanes_state<true, true, false, false, true>(B, sd, p.increase_factor);
  } else if (!late) {
    if (sample)
      lanes_state<false, true, false, false, true>(B, sd, p.increase_factor);
    else
      lanes_state<false, false, false, false, true>(B, sd, p.increase_factor);
  } else if (s == p.late_start) {
    if (sample)
      lanes_state<false, true, true, false, true>(B, sd, p.increase_factor);
    else
      lanes_state<false, false, true, false, true>(B, sd, p.increase_factor);
  } else {
    if (sample)
      lanes_state<false, true, true, true, true>(B, sd, p.increase_factor);
    else
      lanes_state<false, false, true, true, true>(B, sd, p.increase_factor);
  }
}

// Lanes whose state left its bound: !(|f - y| <= bound) or a non-finite lambda.
SHARPDYN_ALWAYS_INLINE bool flag_end_state(Lanes& B) {
  double any = 0.0;
#pragma omp simd reduction(max : any)
  for (int j = 0; j < kBlock; ++j) {
    const bool ok = B.max_abs[j] <= B.bound[j] && std::fabs(B.f[j] - B.y[j]) <= B.bound[j] &&
                    (B.l[j] - B.l[j]) == 0.0;
    B.bad[j] = ok ? 0.0 : 1.0;
    any = B.bad[j] > any ? B.bad[j] : any;
  }
  return any > 0.0;
}

void write_diverged(const Lanes& B, int j, std::int64_t i, std::int64_t at, double f_at,
                    const UvScanOutput& out) {
  const double df = f_at - B.y[j];
  out.f[i] = (df >= 0.0 || std::isnan(f_at)) ? kInf : -kInf;
  out.ntk[i] = kInf;
  out.diverged_at[i] = at;
  out.initial_loss[i] = B.loss0[j];
  out.initial_sharpness[i] = B.sharp0[j];
  out.max_loss[i] = B.max_loss[j];
  out.final_loss[i] = B.last_loss[j];
  out.final_sharpness[i] = B.last_s[j];
  out.min_sharpness[i] = B.min_s[j];
  out.max_sharpness[i] = B.max_s[j];
  out.late_max_sharpness[i] = kNaN;
  out.late_loss_increase[i] = 0;
  out.converged_at[i] = -1;
}

// Exact step-by-step rerun of lane j from the chunk start c0, which is known to reach an
// out-of-bound state by c1. Writes the lane's outputs and parks it on the fixed point
// (f = y, lambda = 0) so that it costs nothing more and never flags again.
void replay_lane(Lanes& B, const Saved& S, int j, std::int64_t c0, std::int64_t c1,
                 const Params& p, std::int64_t i, const UvScanOutput& out) {
  double f = S.f[j], l = S.l[j];
  const double y = B.y[j], kappa = B.kappa[j], bound = B.bound[j];
  B.max_loss[j] = S.max_abs[j] == -kInf ? -kInf : 0.5 * S.max_abs[j] * S.max_abs[j];
  B.min_s[j] = S.min_s[j];
  B.max_s[j] = S.max_s[j];
  B.late_s[j] = S.late_s[j];
  B.prev_loss[j] = S.prev_loss[j];
  B.increase[j] = S.increase[j];
  std::int64_t at = -1;
  for (std::int64_t s = c0; s <= c1; ++s) {
    const double df = f - y;
    if (s >= 1 && !(std::fabs(df) <= bound && std::isfinite(l))) {
      at = s;
      break;
    }
    if (s == c1) break;  // unreachable: the chunk was flagged
    const double L = 0.5 * df * df;
    const double Sh = sharpness(f, l, df, kappa, y);
    if (s == 0) {
      B.loss0[j] = L;
      B.sharp0[j] = Sh;
    } else {
      B.max_loss[j] = (L > B.max_loss[j]) ? L : B.max_loss[j];
    }
    if (s % p.every == 0) {
      B.min_s[j] = (Sh < B.min_s[j]) ? Sh : B.min_s[j];
      B.max_s[j] = (Sh > B.max_s[j]) ? Sh : B.max_s[j];
    }
    B.last_loss[j] = L;
    B.last_s[j] = Sh;
    advance(f, l, df, B.lr[j], B.a[j], B.b[j]);
  }
  if (at < 0) at = c1;  // unreachable: a flagged chunk always holds an out-of-bound state
  write_diverged(B, j, i, at, f, out);
  B.f[j] = y;
  B.l[j] = 0.0;
  B.bad[j] = 0.0;
}

SHARPDYN_ALWAYS_INLINE void process_block(const UvScanInput& in, const Params& p,
                                          const UvScanOutput& out, std::int64_t first,
                                          PollCounter& poll) {
  Lanes B;
  Saved S;
  const double conv_ratio = p.conv_ratio;
  const int live = static_cast<int>(std::min<std::int64_t>(kBlock, in.count - first));
  for (int j = 0; j < kBlock; ++j) {
    const bool real = j < live;
    const std::int64_t i = first + j;
    const double lr = real ? in.lr[i] : 1.0, kappa = real ? in.kappa[i] : 1.0;
    B.y[j] = real ? in.y[i] : 0.0;
    B.f[j] = real ? in.f0[i] : 0.0;
    B.l[j] = real ? in.ntk0[i] : 0.0;
    B.lr[j] = lr;
    B.kappa[j] = kappa;
    B.a[j] = lr * lr * kappa;
    B.b[j] = lr * kappa;
    B.bound[j] = uv::divergence_bound(B.f[j], B.y[j]);
    B.max_abs[j] = -kInf;
    B.max_loss[j] = -kInf;
    B.min_s[j] = kInf;
    B.max_s[j] = -kInf;
    B.late_s[j] = -kInf;
    B.prev_loss[j] = kNaN;
    B.increase[j] = 0.0;
    B.last_loss[j] = kNaN;
    B.last_s[j] = kNaN;
    B.loss0[j] = kNaN;
    B.sharp0[j] = kNaN;
    B.bad[j] = 0.0;
    const double adf0 = std::fabs(B.f[j] - B.y[j]);
    B.conv_tol[j] = conv_ratio * adf0;
    B.last_above[j] = adf0 > B.conv_tol[j] ? 0.0 : -1.0;
  }
  bool alive[kBlock];
  int n_alive = live;
  for (int j = 0; j < kBlock; ++j) alive[j] = j < live;

  const std::int64_t T = p.steps;
  std::int64_t phase = 0;  // s % every
  for (std::int64_t c0 = 0; c0 < T && n_alive > 0; c0 += kChunk) {
    const std::int64_t c1 = std::min(c0 + kChunk, T);
    save(B, S);
    for (std::int64_t s = c0; s < c1; ++s) {
      lanes_advance(B, s, phase == 0, p);
      if (++phase == p.every) phase = 0;
    }
    if (flag_end_state(B)) {
      for (int j = 0; j < kBlock; ++j) {
        if (B.bad[j] != 0.0 && alive[j]) {
          replay_lane(B, S, j, c0, c1, p, first + j, out);
          alive[j] = false;
          --n_alive;
        }
        B.bad[j] = 0.0;
      }
    }
    if (poll.add((c1 - c0) * kBlock)) return;  // interrupted: the outputs are discarded
  }
  if (n_alive == 0) return;
  // Final state T: always sampled, always in the late window (W >= 2).
  lanes_state<false, true, true, true, false>(B, static_cast<double>(T), p.increase_factor);
  for (int j = 0; j < kBlock; ++j) {
    if (!alive[j]) continue;
    const std::int64_t i = first + j;
    out.f[i] = B.f[j];
    out.ntk[i] = B.l[j];
    out.diverged_at[i] = -1;
    out.initial_loss[i] = B.loss0[j];
    out.initial_sharpness[i] = B.sharp0[j];
    out.max_loss[i] = 0.5 * B.max_abs[j] * B.max_abs[j];
    out.final_loss[i] = B.last_loss[j];
    out.final_sharpness[i] = B.last_s[j];
    out.min_sharpness[i] = B.min_s[j];
    out.max_sharpness[i] = B.max_s[j];
    out.late_max_sharpness[i] = B.late_s[j];
    out.late_loss_increase[i] = B.increase[j] != 0.0 ? 1 : 0;
    out.converged_at[i] =
        B.last_above[j] == static_cast<double>(T) ? -1 : static_cast<std::int64_t>(B.last_above[j]) + 1;
  }
}


// ------------------------------------------------------------------------------ cubic map
// x' = r x (1 - x^2) with the observables of cubic_map.hpp in the map's own units (lr = 1):
// loss (r x^2 - (r - 1))^2 / 2 and sharpness 3 r x^2 - (r - 1), with r - 1 and 3 r
// precomputed (the same bits as cubic::loss / cubic::sharpness). The bound on |x| is at
// least twice the escape radius, beyond which |x| grows monotonically, so testing it at
// the chunk end finds every orbit that crossed it during the chunk; the replay finds the
// exact step.

struct alignas(64) CubicLanes {
  double x[kBlock], r[kBlock], r3[kBlock], rm1[kBlock], bound[kBlock];
  double loss0[kBlock], sharp0[kBlock], max_abs[kBlock], min_s[kBlock], max_s[kBlock],
      late_s[kBlock], prev_loss[kBlock], increase[kBlock], last_loss[kBlock], last_s[kBlock],
      conv_tol[kBlock], last_above[kBlock];
};

struct alignas(64) CubicSaved {
  double x[kBlock], max_abs[kBlock], min_s[kBlock], max_s[kBlock], late_s[kBlock],
      prev_loss[kBlock], increase[kBlock], last_above[kBlock];
};

template <bool First, bool Sample, bool Late, bool Increase, bool Advance>
SHARPDYN_ALWAYS_INLINE void cubic_state(CubicLanes& B, double state, double increase_factor) {
#pragma omp simd
  for (int j = 0; j < kBlock; ++j) {
    const double x = B.x[j], r = B.r[j];
    const double e = r * x * x - B.rm1[j];  // loss = e^2 / 2
    [[maybe_unused]] const double L = 0.5 * e * e;
    if constexpr (First) {
      B.loss0[j] = L;
    } else {
      const double ae = std::fabs(e);
      B.max_abs[j] = (B.max_abs[j] > ae) ? B.max_abs[j] : ae;
      if constexpr (Sample) B.last_above[j] = (ae > B.conv_tol[j]) ? state : B.last_above[j];
    }
    if constexpr (Late) {
      if constexpr (Increase) B.increase[j] = (L > B.prev_loss[j] * increase_factor) ? 1.0 : B.increase[j];
      B.prev_loss[j] = L;
    }
    if constexpr (First || Sample || Late || !Advance) {
      const double S = B.r3[j] * x * x - B.rm1[j];
      if constexpr (First) B.sharp0[j] = S;
      if constexpr (Sample) {
        B.min_s[j] = (S < B.min_s[j]) ? S : B.min_s[j];
        B.max_s[j] = (S > B.max_s[j]) ? S : B.max_s[j];
      }
      if constexpr (Late) B.late_s[j] = (S > B.late_s[j]) ? S : B.late_s[j];
      if constexpr (!Advance) {
        B.last_loss[j] = L;
        B.last_s[j] = S;
      }
    }
    if constexpr (Advance) B.x[j] = r * x * (1.0 - x * x);
  }
}

SHARPDYN_ALWAYS_INLINE void cubic_advance_state(CubicLanes& B, std::int64_t s, bool sample,
                                                const Params& p) {
  const bool late = s >= p.late_start;
  const double sd = static_cast<double>(s);
  if (s == 0) {
    if (late)
      cubic_state<true, true, true, false, true>(B, sd, p.increase_factor);
    else
      cubic_state<true, true, false, false, true>(B, sd, p.increase_factor);
  } else if (!late) {
    if (sample)
      cubic_state<false, true, false, false, true>(B, sd, p.increase_factor);
    else
      cubic_state<false, false, false, false, true>(B, sd, p.increase_factor);
  } else if (s == p.late_start) {
    if (sample)
      cubic_state<false, true, true, false, true>(B, sd, p.increase_factor);
    else
      cubic_state<false, false, true, false, true>(B, sd, p.increase_factor);
  } else {
    if (sample)
      cubic_state<false, true, true, true, true>(B, sd, p.increase_factor);
    else
      cubic_state<false, false, true, true, true>(B, sd, p.increase_factor);
  }
}

void cubic_replay_lane(CubicLanes& B, const CubicSaved& S, int j, std::int64_t c0, std::int64_t c1,
                       const Params& p, std::int64_t i, const CubicScanOutput& out) {
  double x = S.x[j];
  const double r = B.r[j], r3 = B.r3[j], rm1 = B.rm1[j], bound = B.bound[j];
  double max_loss = S.max_abs[j] == -kInf ? -kInf : 0.5 * S.max_abs[j] * S.max_abs[j];
  double min_s = S.min_s[j], max_s = S.max_s[j], last_loss = kNaN, last_s = kNaN;
  std::int64_t at = -1;
  for (std::int64_t s = c0; s <= c1; ++s) {
    if (s >= 1 && !(std::fabs(x) <= bound)) {
      at = s;
      break;
    }
    if (s == c1) break;  // unreachable: the chunk was flagged
    const double e = r * x * x - rm1;
    const double L = 0.5 * e * e;
    const double Sh = r3 * x * x - rm1;
    if (s == 0) {
      B.loss0[j] = L;
      B.sharp0[j] = Sh;
    } else {
      max_loss = (L > max_loss) ? L : max_loss;
    }
    if (s % p.every == 0) {
      min_s = (Sh < min_s) ? Sh : min_s;
      max_s = (Sh > max_s) ? Sh : max_s;
    }
    last_loss = L;
    last_s = Sh;
    x = r * x * (1.0 - x * x);
  }
  if (at < 0) at = c1;
  out.x[i] = (x >= 0.0 || std::isnan(x)) ? kInf : -kInf;
  out.diverged_at[i] = at;
  out.converged_at[i] = -1;
  out.initial_loss[i] = B.loss0[j];
  out.initial_sharpness[i] = B.sharp0[j];
  out.max_loss[i] = max_loss;
  out.final_loss[i] = last_loss;
  out.final_sharpness[i] = last_s;
  out.min_sharpness[i] = min_s;
  out.max_sharpness[i] = max_s;
  out.late_max_sharpness[i] = kNaN;
  out.late_loss_increase[i] = 0;
  B.x[j] = 0.0;  // the fixed point x = 0 (rm1 stays; |e| is constant, harmless)
}

SHARPDYN_ALWAYS_INLINE void process_cubic_block(const CubicScanInput& in, const Params& p,
                                                const CubicScanOutput& out, std::int64_t first,
                                                PollCounter& poll) {
  CubicLanes B;
  CubicSaved S;
  const int live = static_cast<int>(std::min<std::int64_t>(kBlock, in.count - first));
  for (int j = 0; j < kBlock; ++j) {
    const bool real = j < live;
    const double r = real ? in.r[first + j] : 0.0;
    B.x[j] = real ? in.x0[first + j] : 0.0;
    B.r[j] = r;
    B.r3[j] = 3.0 * r;
    B.rm1[j] = r - 1.0;
    B.bound[j] = cubic::divergence_bound(B.x[j], r);
    B.max_abs[j] = -kInf;
    B.min_s[j] = kInf;
    B.max_s[j] = -kInf;
    B.late_s[j] = -kInf;
    B.prev_loss[j] = kNaN;
    B.increase[j] = 0.0;
    B.last_loss[j] = kNaN;
    B.last_s[j] = kNaN;
    B.loss0[j] = kNaN;
    B.sharp0[j] = kNaN;
    const double ae0 = std::fabs(r * B.x[j] * B.x[j] - B.rm1[j]);
    B.conv_tol[j] = p.conv_ratio * ae0;
    B.last_above[j] = ae0 > B.conv_tol[j] ? 0.0 : -1.0;
  }
  bool alive[kBlock];
  int n_alive = live;
  for (int j = 0; j < kBlock; ++j) alive[j] = j < live;
  const std::int64_t T = p.steps;
  std::int64_t phase = 0;
  for (std::int64_t c0 = 0; c0 < T && n_alive > 0; c0 += kChunk) {
    const std::int64_t c1 = std::min(c0 + kChunk, T);
    std::memcpy(S.x, B.x, sizeof S.x);
    std::memcpy(S.max_abs, B.max_abs, sizeof S.max_abs);
    std::memcpy(S.min_s, B.min_s, sizeof S.min_s);
    std::memcpy(S.max_s, B.max_s, sizeof S.max_s);
    for (std::int64_t s = c0; s < c1; ++s) {
      cubic_advance_state(B, s, phase == 0, p);
      if (++phase == p.every) phase = 0;
    }
    for (int j = 0; j < kBlock; ++j) {
      if (alive[j] && !(std::fabs(B.x[j]) <= B.bound[j])) {
        cubic_replay_lane(B, S, j, c0, c1, p, first + j, out);
        alive[j] = false;
        --n_alive;
      }
    }
    if (poll.add((c1 - c0) * kBlock)) return;  // interrupted: the outputs are discarded
  }
  if (n_alive == 0) return;
  cubic_state<false, true, true, true, false>(B, static_cast<double>(T), p.increase_factor);
  for (int j = 0; j < kBlock; ++j) {
    if (!alive[j]) continue;
    const std::int64_t i = first + j;
    out.x[i] = B.x[j];
    out.diverged_at[i] = -1;
    out.initial_loss[i] = B.loss0[j];
    out.initial_sharpness[i] = B.sharp0[j];
    out.max_loss[i] = 0.5 * B.max_abs[j] * B.max_abs[j];
    out.final_loss[i] = B.last_loss[j];
    out.final_sharpness[i] = B.last_s[j];
    out.min_sharpness[i] = B.min_s[j];
    out.max_sharpness[i] = B.max_s[j];
    out.late_max_sharpness[i] = B.late_s[j];
    out.late_loss_increase[i] = B.increase[j] != 0.0 ? 1 : 0;
    out.converged_at[i] =
        B.last_above[j] == static_cast<double>(T) ? -1 : static_cast<std::int64_t>(B.last_above[j]) + 1;
  }
}

using BlockFn = void (*)(const UvScanInput&, const Params&, const UvScanOutput&, std::int64_t,
                         PollCounter&);

void block_baseline(const UvScanInput& in, const Params& p, const UvScanOutput& out,
                    std::int64_t first, PollCounter& poll) {
  process_block(in, p, out, first, poll);
}

using CubicBlockFn = void (*)(const CubicScanInput&, const Params&, const CubicScanOutput&,
                              std::int64_t, PollCounter&);

void cubic_baseline(const CubicScanInput& in, const Params& p, const CubicScanOutput& out,
                    std::int64_t first, PollCounter& poll) {
  process_cubic_block(in, p, out, first, poll);
}

#ifdef SHARPDYN_X86_DISPATCH
__attribute__((target("avx2"))) void block_avx2(const UvScanInput& in, const Params& p,
                                                const UvScanOutput& out, std::int64_t first, PollCounter& poll) {
  process_block(in, p, out, first, poll);
}

__attribute__((target("avx2"))) void cubic_avx2(const CubicScanInput& in, const Params& p,
                                                const CubicScanOutput& out, std::int64_t first, PollCounter& poll) {
  process_cubic_block(in, p, out, first, poll);
}

#if defined(__clang__)
__attribute__((target("avx512f,avx512dq,avx512vl")))
#else
__attribute__((target("avx512f,avx512dq,avx512vl,prefer-vector-width=512")))
#endif
void block_avx512(const UvScanInput& in, const Params& p, const UvScanOutput& out,
                  std::int64_t first, PollCounter& poll) {
  process_block(in, p, out, first, poll);
}

#if defined(__clang__)
__attribute__((target("avx512f,avx512dq,avx512vl")))
#else
__attribute__((target("avx512f,avx512dq,avx512vl,prefer-vector-width=512")))
#endif
void cubic_avx512(const CubicScanInput& in, const Params& p, const CubicScanOutput& out,
                  std::int64_t first, PollCounter& poll) {
  process_cubic_block(in, p, out, first, poll);
}
#endif

CubicBlockFn cubic_block_function(Isa isa) {
  switch (isa) {
#ifdef SHARPDYN_X86_DISPATCH
    case Isa::kAvx512:
      return &cubic_avx512;
    case Isa::kAvx2:
      return &cubic_avx2;
#endif
    default:
      return &cubic_baseline;
  }
}

BlockFn block_function(Isa isa) {
  switch (isa) {
#ifdef SHARPDYN_X86_DISPATCH
    case Isa::kAvx512:
      return &block_avx512;
    case Isa::kAvx2:
      return &block_avx2;
#endif
    default:
      return &block_baseline;
  }
}

}  // namespace

bool isa_available(Isa isa) noexcept {
  switch (isa) {
    case Isa::kAuto:
    case Isa::kBaseline:
      return true;
#ifdef SHARPDYN_X86_DISPATCH
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2");
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl");
#endif
    default:
      return false;
  }
}

Isa best_isa() noexcept {
  if (isa_available(Isa::kAvx512)) return Isa::kAvx512;
  if (isa_available(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kBaseline;
}

const char* isa_name(Isa isa) noexcept {
  switch (isa) {
    case Isa::kAuto:
      return "auto";
    case Isa::kBaseline:
      return "baseline";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "unknown";
}

namespace {

Isa checked_isa(const UvScanOptions& opt, std::int64_t count) {
  if (count < 0) throw std::invalid_argument("count must be >= 0");
  if (opt.steps < 1) throw std::invalid_argument("steps must be >= 1");
  if (opt.late_window < 2 || opt.late_window > opt.steps + 1)
    throw std::invalid_argument("late_window must lie in [2, steps + 1]");
  if (opt.sharpness_every < 1) throw std::invalid_argument("sharpness_every must be >= 1");
  if (!(opt.converged_rtol >= 0.0)) throw std::invalid_argument("converged_rtol must be >= 0");
  if (!(opt.loss_increase_rtol >= 0.0))
    throw std::invalid_argument("loss_increase_rtol must be >= 0");
  const Isa isa = opt.isa == Isa::kAuto ? best_isa() : opt.isa;
  if (!isa_available(isa))
    throw std::invalid_argument(std::string("isa '") + isa_name(isa) + "' is not available on this CPU");
  return isa;
}

// Blocks shared among the threads; the caller's thread keeps polling `stop` until all are done.
template <class Input, class Output, class Fn>
void run_blocks(const Input& in, const Params& p, const Output& out, Fn fn, int threads,
                Interrupt& stop) {
  const std::int64_t n_blocks = (in.count + kBlock - 1) / kBlock;
  const int nt = resolve_threads(threads);
  TeamLatch latch(stop);
  // Blocks are independent, so the schedule changes only the timing, never the bits.
#pragma omp parallel num_threads(nt)
  {
    PollCounter poll(stop, kPollWork);
#pragma omp for schedule(dynamic, 4) nowait
    for (std::int64_t blk = 0; blk < n_blocks; ++blk) {
      if (!poll.stop_requested()) fn(in, p, out, blk * kBlock, poll);
    }
    latch.arrive();
  }
}

}  // namespace

void cubic_scan(const CubicScanInput& in, const UvScanOptions& opt, const CubicScanOutput& out,
                Interrupt& stop) {
  const CubicBlockFn fn = cubic_block_function(checked_isa(opt, in.count));
  const Params p{opt.steps, opt.steps + 1 - opt.late_window, opt.sharpness_every,
                 std::sqrt(opt.converged_rtol), 1.0 + opt.loss_increase_rtol};
  run_blocks(in, p, out, fn, opt.threads, stop);
}

void uv_scan(const UvScanInput& in, const UvScanOptions& opt, const UvScanOutput& out,
             Interrupt& stop) {
  const BlockFn fn = block_function(checked_isa(opt, in.count));
  const Params p{opt.steps, opt.steps + 1 - opt.late_window, opt.sharpness_every,
                 std::sqrt(opt.converged_rtol), 1.0 + opt.loss_increase_rtol};
  run_blocks(in, p, out, fn, opt.threads, stop);
}

}  // namespace sharpdyn::scan
