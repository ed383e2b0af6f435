// Phase scans of the UV model: the function-space map run independently from every
// point of a grid of (f0, lambda0, lr, kappa, y), keeping per point only what a scan
// needs (final state, divergence step, loss and sharpness statistics, the late-window
// statistics of sharpdyn.regimes), never the orbit.
//
// Numerics are those of uv_model.hpp, operation for operation (the same expressions in
// the same order, no FMA contraction), so a scan point and a single run from the same
// inputs agree bit for bit on every SIMD path.
//
// Layout: points are processed in blocks of kBlock lanes held in structure-of-arrays
// form; the step loop runs over the block with `omp simd`, OpenMP spreads blocks over
// threads. Divergence is not tested with a branch per step: every lane accumulates a
// "left its bound" flag, checked once per chunk of kChunk steps; a flagged lane is
// replayed from the state saved at the chunk start with an exact per-step test, so the
// reported step and every statistic are exactly those of a step-by-step run. Once all
// lanes of a block have diverged the block stops (per-point early exit).
#pragma once

#include <cstdint>

#include "core/interrupt.hpp"
#include "core/simd_dispatch.hpp"

namespace sharpdyn::scan {

struct UvScanInput {
  const double* f0;    // initial output
  const double* ntk0;  // initial NTK lambda
  const double* lr;    // learning rate eta > 0
  const double* kappa; // gamma^2 |x|^2
  const double* y;     // target
  std::int64_t count;  // number of points (every array has this length)
};

struct UvScanOptions {
  std::int64_t steps = 1;            // T >= 1 GD steps; states s = 0..T
  std::int64_t late_window = 2;      // W: states T+1-W..T form the late window (2 <= W <= T+1)
  std::int64_t sharpness_every = 1;  // min/max sharpness over states s % k == 0 and s == T
  double converged_rtol = 1e-10;     // L_s <= rtol L_0 (as |df| <= sqrt(rtol) |df_0|): converged
  double loss_increase_rtol = 1e-12; // L_s > L_{s-1} (1 + rtol) is an increase (regimes.py)
  int threads = 0;                   // <= 0: OpenMP default
  Isa isa = Isa::kAuto;              // SIMD path (simd_dispatch.hpp)
};

// Per point (arrays of length count). A point diverges at the first state s >= 1 with
// !(|f_s - y| <= divergence_bound(f0, y)) or a non-finite lambda_s (as uv::function_map);
// then f = +-inf, ntk = +inf, diverged_at = s and the statistics cover states < s
// (max_loss = -inf when s = 1; late statistics NaN / 0). Otherwise diverged_at = -1.
struct UvScanOutput {
  double* f;                     // final output f_T
  double* ntk;                   // final NTK lambda_T
  std::int64_t* diverged_at;     // first out-of-bound state, -1 if none
  double* initial_loss;          // L_0
  double* max_loss;              // max over 1 <= s < end of L_s
  double* final_loss;            // L of the last in-bound state
  double* initial_sharpness;     // S_0
  double* final_sharpness;       // S of the last in-bound state
  double* min_sharpness;         // min over sampled states (see sharpness_every)
  double* max_sharpness;         // max over sampled states
  double* late_max_sharpness;    // max of S_s over the late window (every state)
  std::uint8_t* late_loss_increase;  // some L_s > L_{s-1} (1 + loss_increase_rtol), both in the window
  std::int64_t* converged_at;    // first sampled state (s % k == 0 or s == T) from which
                                 // |f_s - y| <= sqrt(rtol) |f_0 - y| holds at every later
                                 // sampled state; -1 if not at T (or diverged)
};

// Throws std::invalid_argument on inconsistent options (steps < 1, bad window, k < 1,
// unavailable ISA). Checks `stop` between chunks of steps (interrupt.hpp) and returns early
// once a stop is requested, with the outputs incomplete (to be discarded).
void uv_scan(const UvScanInput& in, const UvScanOptions& opt, const UvScanOutput& out,
             Interrupt& stop = never_interrupted());

// The cubic map x' = r x (1 - x^2) (cubic_map.hpp) from every (r, x0), with the same
// per-point statistics in the map's own units (learning rate 1): loss
// (r x^2 - (r - 1))^2 / 2, sharpness 3 r x^2 - (r - 1), divergence once
// |x| > cubic::divergence_bound(x0, r) (then x = +-inf). converged_at uses |r x^2 - (r - 1)|.
struct CubicScanInput {
  const double* r;
  const double* x0;
  std::int64_t count;
};

struct CubicScanOutput {
  double* x;
  std::int64_t* diverged_at;
  double* initial_loss;
  double* max_loss;
  double* final_loss;
  double* initial_sharpness;
  double* final_sharpness;
  double* min_sharpness;
  double* max_sharpness;
  double* late_max_sharpness;
  std::uint8_t* late_loss_increase;
  std::int64_t* converged_at;
};

void cubic_scan(const CubicScanInput& in, const UvScanOptions& opt, const CubicScanOutput& out,
                Interrupt& stop = never_interrupted());

}  // namespace sharpdyn::scan
