// Lyapunov exponents from exact derivatives, batched over parameters (OpenMP).
//
// 1-D (cubic map): lambda = (1/N) sum_{t=T}^{T+N-1} log |f'(x_t)|, the time average of the log
// of the derivative along the orbit after T transient steps. The product of |f'| is accumulated
// instead of the logs: SIMD across 64 parameters, with the binary exponent moved out of the
// product every 8 steps by bit operations (log taken once at the end; exact up to rounding,
// identical on every SIMD path); lanes whose 8-step product under/overflows are redone by a
// scalar loop. A superstable orbit (f'(x_t) = 0 exactly) gives -inf.
//
// 2-D (UV normalised map): the full spectrum by the QR (Gram-Schmidt) method of Benettin et al.
// (1980) / Eckmann & Ruelle (1985): propagate an orthonormal frame Q by the Jacobian,
// re-orthonormalise each step (J Q = Q' R) and average log R_ii. lambda_1 >= lambda_2 and
// lambda_1 + lambda_2 = (1/N) sum log |det J_t| up to rounding.
//
// The cubic transient runs through the SIMD orbit kernel (orbit_kernels.hpp; identical states).
// An orbit that diverges within T + N steps gets NaN exponents and diverged_at = that step.
// `stop` is checked between chunks of steps (interrupt.hpp); once a stop is requested the
// kernels return early with the outputs incomplete (to be discarded).
#pragma once

#include <cstdint>

#include "core/interrupt.hpp"
#include "core/simd_dispatch.hpp"

namespace sharpdyn::lyapunov {

// isa: the SIMD path of the transient and the product (simd_dispatch.hpp); std::invalid_argument
// if this CPU cannot run it.
void cubic(const double* r, const double* x0, std::int64_t count, std::int64_t n_transient,
           std::int64_t n_steps, double* exponent, std::int64_t* diverged_at, int threads,
           Isa isa = Isa::kAuto, Interrupt& stop = never_interrupted());

// One scalar path (no isa).

// spectrum: (count, 2) row-major, largest first.
void uv_spectrum(const double* Y, const double* g0, const double* z0, std::int64_t count,
                 std::int64_t n_transient, std::int64_t n_steps, double* spectrum,
                 std::int64_t* diverged_at, int threads, Interrupt& stop = never_interrupted());

}  // namespace sharpdyn::lyapunov
