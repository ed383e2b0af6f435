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
#include "core/simd_dispatch.hpp"
#include "core/uv_model.hpp"

namespace sharpdyn::scan {
namespace {

constexpr int kBlock = 64;  // lanes per block (eight AVX-512 registers per variable)
constexpr std::int64_t kChunk = 64;  // steps between divergence checks
constexpr std::int64_t kPollWork = std::int64_t{1} << 18;  // lane-steps between interrupt checks
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Params {
  std::int64_t steps, late_start, every;  // T, first late state T + 1 - W, k
  double conv_ratio;                      // |res| <= conv_ratio |res_0| counts as converged
  double increase_factor;                 // L_s > L_{s-1} * increase_factor is an increase
};

// ------------------------------------------------------------------------------ the maps
// A map is a small traits type: its per-lane state and constants in structure-of-arrays form
// (Map::Lanes), the part of them a chunk replay restarts from (Map::Saved), and per-lane
// functions of lane j, each written once and used both by the SIMD loops and by the exact
// scalar replay:
//   residual(m, j)       res, with loss L = res^2 / 2 (the same expression in every map)
//   sharpness(m, j, res) the sharpness of the current state
//   step(m, j, res)      one step of the map
//   in_bound(m, j, res)  the exact per-state divergence test (false: diverged)
//   chunk_ok(m, j, max_abs)  the end-of-chunk test: no state of the chunk left its bound
//   init(m, in, i, j, real), save / restore, park (a fixed point), write_final / write_diverged.

// The UV function-space map. Each line is the expression of uv_model.hpp in the same order:
//   f - lr*lam*df + lr*lr*kappa*f*df*df    with a = lr*lr*kappa
//   lam + lr*kappa*df*(lr*lam*df - 4 f)    with b = lr*kappa
// res = f - y. max |res| over a chunk both tests the bound (a NaN sticks until the chunk
// ends, as f stays NaN) and gives max_loss = 0.5 M M exactly.
struct UvMap {
  using Input = UvScanInput;
  using Output = UvScanOutput;
  struct alignas(64) Lanes {
    double f[kBlock], l[kBlock], lr[kBlock], a[kBlock], b[kBlock], kappa[kBlock], y[kBlock],
        bound[kBlock];
  };
  struct alignas(64) Saved {
    double f[kBlock], l[kBlock];
  };

  static void init(Lanes& m, const Input& in, std::int64_t i, int j, bool real) {
    const double lr = real ? in.lr[i] : 1.0, kappa = real ? in.kappa[i] : 1.0;
    m.y[j] = real ? in.y[i] : 0.0;
    m.f[j] = real ? in.f0[i] : 0.0;
    m.l[j] = real ? in.ntk0[i] : 0.0;
    m.lr[j] = lr;
    m.kappa[j] = kappa;
    m.a[j] = lr * lr * kappa;
    m.b[j] = lr * kappa;
    m.bound[j] = uv::divergence_bound(m.f[j], m.y[j]);
  }
  static SHARPDYN_ALWAYS_INLINE double residual(const Lanes& m, int j) { return m.f[j] - m.y[j]; }
  static SHARPDYN_ALWAYS_INLINE double sharpness(const Lanes& m, int j, double df) {
    const double l = m.l[j];
    double rad = 0.25 * l * l + m.kappa[j] * df * (3.0 * m.f[j] - m.y[j]);
    rad = rad < 0.0 ? 0.0 : rad;
    return 0.5 * l + std::sqrt(rad);
  }
  static SHARPDYN_ALWAYS_INLINE void step(Lanes& m, int j, double df) {
    const double f = m.f[j], l = m.l[j];
    const double q = m.lr[j] * l * df;
    const double f_new = f - q + m.a[j] * f * df * df;
    const double l_new = l + m.b[j] * df * (q - 4.0 * f);
    m.f[j] = f_new;
    m.l[j] = l_new;
  }
  static bool in_bound(const Lanes& m, int j, double df) {
    return std::fabs(df) <= m.bound[j] && std::isfinite(m.l[j]);
  }
  static SHARPDYN_ALWAYS_INLINE bool chunk_ok(const Lanes& m, int j, double max_abs) {
    return max_abs <= m.bound[j] && std::fabs(m.f[j] - m.y[j]) <= m.bound[j] &&
           (m.l[j] - m.l[j]) == 0.0;
  }
  static SHARPDYN_ALWAYS_INLINE void save(const Lanes& m, Saved& s) {
    std::memcpy(s.f, m.f, sizeof s.f);
    std::memcpy(s.l, m.l, sizeof s.l);
  }
  static void restore(Lanes& m, const Saved& s, int j) {
    m.f[j] = s.f[j];
    m.l[j] = s.l[j];
  }
  static void park(Lanes& m, int j) {  // the fixed point f = y, lambda = 0
    m.f[j] = m.y[j];
    m.l[j] = 0.0;
  }
  static void write_final(const Lanes& m, int j, std::int64_t i, const Output& out) {
    out.f[i] = m.f[j];
    out.ntk[i] = m.l[j];
  }
  static void write_diverged(const Lanes& m, int j, std::int64_t i, const Output& out) {
    const double f = m.f[j];
    out.f[i] = (f - m.y[j] >= 0.0 || std::isnan(f)) ? kInf : -kInf;
    out.ntk[i] = kInf;
  }
};

// The cubic map x' = r x (1 - x^2) with the observables of cubic_map.hpp in the map's own
// units (lr = 1): loss (r x^2 - (r - 1))^2 / 2 (res = r x^2 - (r - 1)) and sharpness
// 3 r x^2 - (r - 1), with r - 1 and 3 r precomputed (the same bits as cubic::loss /
// cubic::sharpness). The bound on |x| is at least twice the escape radius, beyond which |x|
// grows monotonically, so testing it at the chunk end finds every orbit that crossed it
// during the chunk; the replay finds the exact step.
struct CubicMap {
  using Input = CubicScanInput;
  using Output = CubicScanOutput;
  struct alignas(64) Lanes {
    double x[kBlock], r[kBlock], r3[kBlock], rm1[kBlock], bound[kBlock];
  };
  struct alignas(64) Saved {
    double x[kBlock];
  };

  static void init(Lanes& m, const Input& in, std::int64_t i, int j, bool real) {
    const double r = real ? in.r[i] : 0.0;
    m.x[j] = real ? in.x0[i] : 0.0;
    m.r[j] = r;
    m.r3[j] = 3.0 * r;
    m.rm1[j] = r - 1.0;
    m.bound[j] = cubic::divergence_bound(m.x[j], r);
  }
  static SHARPDYN_ALWAYS_INLINE double residual(const Lanes& m, int j) {
    const double x = m.x[j];
    return m.r[j] * x * x - m.rm1[j];
  }
  static SHARPDYN_ALWAYS_INLINE double sharpness(const Lanes& m, int j, double) {
    const double x = m.x[j];
    return m.r3[j] * x * x - m.rm1[j];
  }
  static SHARPDYN_ALWAYS_INLINE void step(Lanes& m, int j, double) {
    const double x = m.x[j];
    m.x[j] = m.r[j] * x * (1.0 - x * x);
  }
  static bool in_bound(const Lanes& m, int j, double) { return std::fabs(m.x[j]) <= m.bound[j]; }
  static SHARPDYN_ALWAYS_INLINE bool chunk_ok(const Lanes& m, int j, double) {
    return std::fabs(m.x[j]) <= m.bound[j];
  }
  static SHARPDYN_ALWAYS_INLINE void save(const Lanes& m, Saved& s) {
    std::memcpy(s.x, m.x, sizeof s.x);
  }
  static void restore(Lanes& m, const Saved& s, int j) { m.x[j] = s.x[j]; }
  static void park(Lanes& m, int j) { m.x[j] = 0.0; }  // rm1 stays; |res| is constant, harmless
  static void write_final(const Lanes& m, int j, std::int64_t i, const Output& out) {
    out.x[i] = m.x[j];
  }
  static void write_diverged(const Lanes& m, int j, std::int64_t i, const Output& out) {
    const double x = m.x[j];
    out.x[i] = (x >= 0.0 || std::isnan(x)) ? kInf : -kInf;
  }
};

// ------------------------------------------------------------------------------ the driver

// A block of kBlock lanes: the map's state and the statistics every scan keeps.
template <class Map>
struct alignas(64) Lanes {
  typename Map::Lanes m;
  double loss0[kBlock], sharp0[kBlock], max_abs[kBlock], min_s[kBlock], max_s[kBlock],
      late_s[kBlock], prev_loss[kBlock], increase[kBlock], last_loss[kBlock], last_s[kBlock];
  double conv_tol[kBlock], last_above[kBlock];  // convergence: |res| <= conv_tol from then on
  double bad[kBlock];  // 1: a state of the current chunk left its bound
};

// What a chunk replay needs to restart a lane (the statistics it cannot recompute).
template <class Map>
struct alignas(64) Saved {
  typename Map::Saved m;
  double max_abs[kBlock], min_s[kBlock], max_s[kBlock];
};

template <class Map>
SHARPDYN_ALWAYS_INLINE void save(const Lanes<Map>& B, Saved<Map>& S) {
  Map::save(B.m, S.m);
  std::memcpy(S.max_abs, B.max_abs, sizeof S.max_abs);
  std::memcpy(S.min_s, B.min_s, sizeof S.min_s);
  std::memcpy(S.max_s, B.max_s, sizeof S.max_s);
}

// Statistics of the current state of every lane, then (if Advance) one step.
//   First: state 0 (initial loss/sharpness, no bound test, not part of max_loss)
//   Sample: state enters min/max sharpness; Late: state is in the late window;
//   Increase: the previous state is in the late window too.
template <class Map, bool First, bool Sample, bool Late, bool Increase, bool Advance>
SHARPDYN_ALWAYS_INLINE void lanes_state(Lanes<Map>& B, double state, double increase_factor) {
#pragma omp simd
  for (int j = 0; j < kBlock; ++j) {
    const double res = Map::residual(B.m, j);
    [[maybe_unused]] const double L = 0.5 * res * res;
    if constexpr (First) {
      B.loss0[j] = L;
    } else {
      // max |res| gives max_loss = 0.5 M M exactly (rounding is monotone, L is even in res).
      const double ares = std::fabs(res);
      B.max_abs[j] = (B.max_abs[j] > ares) ? B.max_abs[j] : ares;
      if constexpr (Sample) B.last_above[j] = (ares > B.conv_tol[j]) ? state : B.last_above[j];
    }
    if constexpr (Late) {
      if constexpr (Increase) B.increase[j] = (L > B.prev_loss[j] * increase_factor) ? 1.0 : B.increase[j];
      B.prev_loss[j] = L;
    }
    if constexpr (First || Sample || Late || !Advance) {
      const double S = Map::sharpness(B.m, j, res);
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
    if constexpr (Advance) Map::step(B.m, j, res);
  }
}

// State s < T of the block (block-uniform flags), followed by the step to s + 1.
template <class Map>
SHARPDYN_ALWAYS_INLINE void lanes_advance(Lanes<Map>& B, std::int64_t s, bool sample, const Params& p) {
  const bool late = s >= p.late_start;
  const double sd = static_cast<double>(s);
  const double inc = p.increase_factor;
  if (s == 0) {
    if (late)
      lanes_state<Map, true, true, true, false, true>(B, sd, inc);
    else
      lanes_state<Map, true, true, false, false, true>(B, sd, inc);
  } else if (!late) {
    if (sample)
      lanes_state<Map, false, true, false, false, true>(B, sd, inc);
    else
      lanes_state<Map, false, false, false, false, true>(B, sd, inc);
  } else if (s == p.late_start) {
    if (sample)
      lanes_state<Map, false, true, true, false, true>(B, sd, inc);
    else
      lanes_state<Map, false, false, true, false, true>(B, sd, inc);
  } else {
    if (sample)
      lanes_state<Map, false, true, true, true, true>(B, sd, inc);
    else
      lanes_state<Map, false, false, true, true, true>(B, sd, inc);
  }
}

// Flags (bad = 1) the lanes of which some state of the chunk just run left its bound.
template <class Map>
SHARPDYN_ALWAYS_INLINE bool flag_chunk(Lanes<Map>& B) {
  double any = 0.0;
#pragma omp simd reduction(max : any)
  for (int j = 0; j < kBlock; ++j) {
    B.bad[j] = Map::chunk_ok(B.m, j, B.max_abs[j]) ? 0.0 : 1.0;
    any = B.bad[j] > any ? B.bad[j] : any;
  }
  return any > 0.0;
}

// Exact step-by-step rerun of lane j from the chunk start c0, which is known to reach an
// out-of-bound state by c1. Writes the lane's outputs and parks it on a fixed point so that
// it costs nothing more and never flags again.
template <class Map>
void replay_lane(Lanes<Map>& B, const Saved<Map>& S, int j, std::int64_t c0, std::int64_t c1,
                 const Params& p, std::int64_t i, const typename Map::Output& out) {
  Map::restore(B.m, S.m, j);
  double max_loss = S.max_abs[j] == -kInf ? -kInf : 0.5 * S.max_abs[j] * S.max_abs[j];
  double min_s = S.min_s[j], max_s = S.max_s[j], last_loss = kNaN, last_s = kNaN;
  std::int64_t at = -1;
  for (std::int64_t s = c0; s <= c1; ++s) {
    const double res = Map::residual(B.m, j);
    if (s >= 1 && !Map::in_bound(B.m, j, res)) {
      at = s;
      break;
    }
    if (s == c1) break;  // unreachable: the chunk was flagged
    const double L = 0.5 * res * res;
    const double Sh = Map::sharpness(B.m, j, res);
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
    Map::step(B.m, j, res);
  }
  if (at < 0) at = c1;  // unreachable: a flagged chunk always holds an out-of-bound state
  Map::write_diverged(B.m, j, i, out);
  out.diverged_at[i] = at;
  out.initial_loss[i] = B.loss0[j];
  out.initial_sharpness[i] = B.sharp0[j];
  out.max_loss[i] = max_loss;
  out.final_loss[i] = last_loss;
  out.final_sharpness[i] = last_s;
  out.min_sharpness[i] = min_s;
  out.max_sharpness[i] = max_s;
  out.late_max_sharpness[i] = kNaN;
  out.late_loss_increase[i] = 0;
  out.converged_at[i] = -1;
  Map::park(B.m, j);
}

// One block of kBlock points from `first` (the last block is padded with lanes that stay on
// a fixed point). Instantiated inside each ISA-specific function below, so that the whole
// block loop is compiled (and inlined) for that instruction set.
template <class Map>
SHARPDYN_ALWAYS_INLINE void process_block(const typename Map::Input& in, const Params& p,
                                          const typename Map::Output& out, std::int64_t first,
                                          PollCounter& poll) {
  Lanes<Map> B;
  Saved<Map> S;
  const int live = static_cast<int>(std::min<std::int64_t>(kBlock, in.count - first));
  for (int j = 0; j < kBlock; ++j) {
    Map::init(B.m, in, first + j, j, j < live);
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
    B.bad[j] = 0.0;
    const double ares0 = std::fabs(Map::residual(B.m, j));
    B.conv_tol[j] = p.conv_ratio * ares0;
    B.last_above[j] = ares0 > B.conv_tol[j] ? 0.0 : -1.0;
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
    if (flag_chunk(B)) {
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
  lanes_state<Map, false, true, true, true, false>(B, static_cast<double>(T), p.increase_factor);
  for (int j = 0; j < kBlock; ++j) {
    if (!alive[j]) continue;
    const std::int64_t i = first + j;
    Map::write_final(B.m, j, i, out);
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

template <class Map>
using BlockFn = void (*)(const typename Map::Input&, const Params&, const typename Map::Output&,
                         std::int64_t, PollCounter&);

template <class Map>
void block_baseline(const typename Map::Input& in, const Params& p, const typename Map::Output& out,
                    std::int64_t first, PollCounter& poll) {
  process_block<Map>(in, p, out, first, poll);
}

#ifdef SHARPDYN_X86_DISPATCH
template <class Map>
__attribute__((target("avx2"))) void block_avx2(const typename Map::Input& in, const Params& p,
                                                const typename Map::Output& out, std::int64_t first,
                                                PollCounter& poll) {
  process_block<Map>(in, p, out, first, poll);
}

template <class Map>
#if defined(__clang__)
__attribute__((target("avx512f,avx512dq,avx512vl")))
#else
__attribute__((target("avx512f,avx512dq,avx512vl,prefer-vector-width=512")))
#endif
void block_avx512(const typename Map::Input& in, const Params& p, const typename Map::Output& out,
                  std::int64_t first, PollCounter& poll) {
  process_block<Map>(in, p, out, first, poll);
}
#endif

template <class Map>
BlockFn<Map> block_function(Isa isa) {
  switch (isa) {
#ifdef SHARPDYN_X86_DISPATCH
    case Isa::kAvx512:
      return &block_avx512<Map>;
    case Isa::kAvx2:
      return &block_avx2<Map>;
#endif
    default:
      return &block_baseline<Map>;
  }
}

Isa checked_isa(const UvScanOptions& opt, std::int64_t count) {
  if (count < 0) throw std::invalid_argument("count must be >= 0");
  if (opt.steps < 1) throw std::invalid_argument("steps must be >= 1");
  if (opt.late_window < 2 || opt.late_window > opt.steps + 1)
    throw std::invalid_argument("late_window must lie in [2, steps + 1]");
  if (opt.sharpness_every < 1) throw std::invalid_argument("sharpness_every must be >= 1");
  if (!(opt.converged_rtol >= 0.0)) throw std::invalid_argument("converged_rtol must be >= 0");
  if (!(opt.loss_increase_rtol >= 0.0))
    throw std::invalid_argument("loss_increase_rtol must be >= 0");
  return resolve_isa(opt.isa);
}

template <class Input, class Output, class Fn>
void run_blocks(const Input& in, const Params& p, const Output& out, Fn fn, int threads,
                Interrupt& stop) {
  const std::int64_t n_blocks = (in.count + kBlock - 1) / kBlock;
  team_for(n_blocks, threads, stop, TeamLoop{kPollWork, 4},
           [&](std::int64_t blk, PollCounter& poll) { fn(in, p, out, blk * kBlock, poll); });
}

}  // namespace

void cubic_scan(const CubicScanInput& in, const UvScanOptions& opt, const CubicScanOutput& out,
                Interrupt& stop) {
  const BlockFn<CubicMap> fn = block_function<CubicMap>(checked_isa(opt, in.count));
  const Params p{opt.steps, opt.steps + 1 - opt.late_window, opt.sharpness_every,
                 std::sqrt(opt.converged_rtol), 1.0 + opt.loss_increase_rtol};
  run_blocks(in, p, out, fn, opt.threads, stop);
}

void uv_scan(const UvScanInput& in, const UvScanOptions& opt, const UvScanOutput& out,
             Interrupt& stop) {
  const BlockFn<UvMap> fn = block_function<UvMap>(checked_isa(opt, in.count));
  const Params p{opt.steps, opt.steps + 1 - opt.late_window, opt.sharpness_every,
                 std::sqrt(opt.converged_rtol), 1.0 + opt.loss_increase_rtol};
  run_blocks(in, p, out, fn, opt.threads, stop);
}

}  // namespace sharpdyn::scan
