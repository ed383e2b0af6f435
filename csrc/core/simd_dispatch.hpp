// The one SIMD dispatch of every compiled kernel (grid scans, orbit diagrams, Lyapunov
// exponents). A kernel with SIMD paths is compiled once per instruction set, as a function with
// a `target` attribute inside which the shared always-inline body is instantiated (so each path
// is fully inlined for its own instruction set), and takes an `Isa`: kAuto picks the widest this
// CPU has; any other value forces that path (tests, benchmarks) and is refused if the CPU lacks
// it. The names are those of sharpdyn.simd.ISAS. FMA contraction is off for the whole build
// (CMakeLists.txt), so every path computes bit-identical results; only their speed differs.
//
//   auto      the widest available below
//   baseline  the compiler's default target (x86-64: SSE2; elsewhere: portable code)
//   avx2      x86-64 with AVX2
//   avx512    x86-64 with AVX-512 F, DQ and VL
//
// There is no environment override: a path is forced only by passing an Isa (isa= in Python).
#pragma once

#include <stdexcept>
#include <string>

#if defined(__GNUC__) || defined(__clang__)
#define SHARPDYN_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define SHARPDYN_ALWAYS_INLINE inline
#endif

// Kernels have avx2 / avx512 functions (target attributes, CPU detection) only here.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SHARPDYN_X86_DISPATCH 1
#endif

// The GCC vector extensions (vector_size, __builtin_shuffle) that the orbit and Lyapunov
// kernels hold their lanes in; elsewhere they run portable scalar code on every path.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define SHARPDYN_GCC_X86_VECTORS 1
#endif

namespace sharpdyn {

enum class Isa : int { kAuto = 0, kBaseline = 1, kAvx2 = 2, kAvx512 = 3 };

inline constexpr Isa kIsas[] = {Isa::kAuto, Isa::kBaseline, Isa::kAvx2, Isa::kAvx512};

inline const char* isa_name(Isa isa) noexcept {
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

// The Isa of a name of sharpdyn.simd.ISAS; std::invalid_argument for any other name.
inline Isa isa_from_name(const std::string& name) {
  for (Isa isa : kIsas) {
    if (name == isa_name(isa)) return isa;
  }
  throw std::invalid_argument("isa must be one of 'auto', 'baseline', 'avx2', 'avx512', got '" +
                              name + "'");
}

// Whether this build and this CPU can run the path (kAuto and kBaseline always can).
inline bool isa_available(Isa isa) noexcept {
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

// The path kAuto stands for on this CPU.
inline Isa best_isa() noexcept {
  if (isa_available(Isa::kAvx512)) return Isa::kAvx512;
  if (isa_available(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kBaseline;
}

// The path a kernel runs for a requested Isa (never kAuto); std::invalid_argument if this CPU
// cannot run it.
inline Isa resolve_isa(Isa requested) {
  const Isa isa = requested == Isa::kAuto ? best_isa() : requested;
  if (!isa_available(isa))
    throw std::invalid_argument(std::string("isa '") + isa_name(isa) + "' is not available on this CPU");
  return isa;
}

}  // namespace sharpdyn
