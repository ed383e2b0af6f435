// Runtime SIMD dispatch for hot loops: on GCC/x86-64/Linux a function marked
// SHARPDYN_SIMD_CLONES is compiled for AVX-512F, AVX2 and the baseline, and the loader picks the
// best the CPU supports (ifunc). FMA contraction is off for the whole build (CMakeLists.txt), so
// the clones compute bit-identical results; only their speed differs. Elsewhere it is a no-op.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SHARPDYN_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SHARPDYN_SIMD_CLONES
#endif

#if defined(__GNUC__)
#define SHARPDYN_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define SHARPDYN_ALWAYS_INLINE inline
#endif
