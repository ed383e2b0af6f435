// Orbit (bifurcation) diagrams: for each parameter value, start from an explicit initial
// condition, discard n_transient steps, then record the next n_keep states (state k = the state
// after n_transient + k steps, so n_transient = 0 records the initial condition first).
//
// Layout: parameters are processed in blocks of kBlock held as structure-of-arrays, the map is
// advanced for the whole block with an `omp simd` inner loop (SIMD across parameters, compiled
// for AVX-512 / AVX2 / baseline, chosen by `isa` as in simd_dispatch.hpp), and blocks are shared among
// OpenMP threads. Lanes never interact and FMA contraction is off, so every thread count, block
// split and SIMD path gives bit-identical results.
//
// Cubic map only: once every lane of a block is in an exact floating-point cycle (its state
// equals, bit for bit, one of its last 32 states), the rest of the transient is skipped by
// indexing into the cycle, which gives the same bits as iterating; and when the transient is at
// least as long as the kept part (n_keep <= 1024), a block's kept states are streamed to `out`
// during the next block's transient, so that writing the result overlaps the arithmetic.
//
// Divergence: diverged_at[i] = the first step at which the state left its divergence bound
// (cubic_map.hpp, uv_normalized.hpp), else -1. Recorded entries from that step on are NaN.
//
// Interrupts: `stop` is checked between chunks of steps (interrupt.hpp); once a stop is
// requested the kernels return early with the outputs incomplete (to be discarded).
#pragma once

#include <cstdint>

#include "core/interrupt.hpp"
#include "core/simd_dispatch.hpp"

namespace sharpdyn::orbit {

constexpr int kBlock = 64;

// What is recorded for each kept step.
enum class Observable : int {
  State = 0,      // cubic: x; uv: (g, z) (two values per step)
  Sharpness = 1,  // eta * lambda_H (cubic: 3 r x^2 - (r - 1))
  Loss = 2,       // normalised loss (cubic: (r x^2 - r + 1)^2 / 2; uv: g^2 / 2)
  Ntk = 3,        // uv only: z = eta * lambda
};

// `isa`: the SIMD path (simd_dispatch.hpp); std::invalid_argument if this CPU cannot run it.

// Values recorded per kept step: 2 for the UV state, else 1.
int uv_observable_dim(Observable obs) noexcept;

// Cubic map x' = r x (1 - x^2). r, x0: (count); out: (count, n_keep) row-major.
// With continuation, parameters are run in the given order and each starts from the previous
// one's last state (from its own x0 after a divergence); this is serial.
void cubic_orbits(const double* r, const double* x0, std::int64_t count, std::int64_t n_transient,
                  std::int64_t n_keep, Observable obs, bool continuation, double* out,
                  std::int64_t* diverged_at, int threads, Isa isa = Isa::kAuto,
                  Interrupt& stop = never_interrupted());

// UV normalised map, parameter Y. Y, g0, z0: (count); out: (count, n_keep, dim) row-major with
// dim = uv_observable_dim(obs).
void uv_orbits(const double* Y, const double* g0, const double* z0, std::int64_t count,
               std::int64_t n_transient, std::int64_t n_keep, Observable obs, bool continuation,
               double* out, std::int64_t* diverged_at, int threads, Isa isa = Isa::kAuto,
               Interrupt& stop = never_interrupted());

}  // namespace sharpdyn::orbit
