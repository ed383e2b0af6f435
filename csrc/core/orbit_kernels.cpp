#include "core/orbit_kernels.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <cmath>
#include <limits>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

#include "core/cubic_map.hpp"
#include "core/interrupt.hpp"
#include "core/parallel.hpp"
#include "core/simd_dispatch.hpp"
#include "core/uv_normalized.hpp"

namespace sharpdyn::orbit {

namespace {

// Steps between divergence checks in the transient, and while recording (the record buffer,
// up to kRecordChunk x kBlock doubles = 512 KiB, stays in L2; each output row is then written
// as one long contiguous run, which suits the non-temporal stores below).
constexpr std::int64_t kChunk = 256;
constexpr std::int64_t kRecordChunk = 1024;
constexpr std::int64_t kPollWork = std::int64_t{1} << 20;  // lane-steps between interrupt checks
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMaxFinite = std::numeric_limits<double>::max();

// ---------------------------------------------------------------- cubic map

// Advance all kBlock lanes `steps` times and, when recording, store the observable of each
// state before its step (and `records - steps` more after the last step) into rec
// (records x kBlock, row-major). The lanes are held in vector registers for the whole loop:
// NV independent vectors of W doubles (GCC vector extensions; V = double gives plain scalar
// code), enough of them that the 12-cycle dependency chain of one step is hidden and the loop
// runs at the FP ports' throughput. The block is processed in kBlock / (NV W) groups (1 with
// AVX-512, 2 with AVX2, 4 with SSE2). Every lane evaluates exactly the expressions of
// cubic::step / cubic::sharpness / cubic::loss (same association, no FMA), so every path gives
// the same bits.
template <int Obs, class V>
SHARPDYN_ALWAYS_INLINE V cubic_observe_lanes(V x, V r) {
  if constexpr (Obs == static_cast<int>(Observable::Sharpness)) {
    return 3.0 * r * x * x - (r - 1.0);
  } else if constexpr (Obs == static_cast<int>(Observable::Loss)) {
    const V g = r * x * x - (r - 1.0);
    return 0.5 * g * g;
  } else {
    return x;
  }
}

template <class V, int NV, int Obs>  // Obs < 0: advance only
SHARPDYN_ALWAYS_INLINE void cubic_registers(double* __restrict x, const double* __restrict r,
                                            std::int64_t steps, std::int64_t records,
                                            double* __restrict rec) {
  constexpr int W = static_cast<int>(sizeof(V) / sizeof(double));
  constexpr int group = NV * W;
  static_assert(kBlock % group == 0, "block must be a whole number of register groups");
  for (int base = 0; base < kBlock; base += group) {
    V xs[NV], rs[NV];
    for (int v = 0; v < NV; ++v) {
      std::memcpy(&xs[v], x + base + v * W, sizeof(V));
      std::memcpy(&rs[v], r + base + v * W, sizeof(V));
    }
    for (std::int64_t t = 0; t < steps; ++t) {
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        if constexpr (Obs >= 0) {
          const V o = cubic_observe_lanes<Obs>(xs[v], rs[v]);
          std::memcpy(rec + t * kBlock + base + v * W, &o, sizeof(V));
        }
        xs[v] = rs[v] * xs[v] * (1.0 - xs[v] * xs[v]);
      }
    }
    if constexpr (Obs >= 0) {
      for (std::int64_t t = steps; t < records; ++t) {
        for (int v = 0; v < NV; ++v) {
          const V o = cubic_observe_lanes<Obs>(xs[v], rs[v]);
          std::memcpy(rec + t * kBlock + base + v * W, &o, sizeof(V));
        }
      }
    }
    for (int v = 0; v < NV; ++v) std::memcpy(x + base + v * W, &xs[v], sizeof(V));
  }
}

template <class V, int NV>
SHARPDYN_ALWAYS_INLINE void cubic_run_lanes(double* x, const double* r, std::int64_t steps,
                                            std::int64_t records, int obs, double* rec) {
  if (rec == nullptr) {
    cubic_registers<V, NV, -1>(x, r, steps, records, rec);
    return;
  }
  switch (obs) {
    case static_cast<int>(Observable::Sharpness):
      cubic_registers<V, NV, static_cast<int>(Observable::Sharpness)>(x, r, steps, records, rec);
      break;
    case static_cast<int>(Observable::Loss):
      cubic_registers<V, NV, static_cast<int>(Observable::Loss)>(x, r, steps, records, rec);
      break;
    default:
      cubic_registers<V, NV, static_cast<int>(Observable::State)>(x, r, steps, records, rec);
  }
}

using CubicRunFn = void (*)(double*, const double*, std::int64_t, std::int64_t, int, double*);

#ifdef SHARPDYN_GCC_X86_VECTORS
typedef double v8d __attribute__((vector_size(64)));
typedef double v4d __attribute__((vector_size(32)));
typedef double v2d __attribute__((vector_size(16)));

__attribute__((target("avx512f"))) void cubic_run_avx512(double* x, const double* r, std::int64_t steps,
                                                          std::int64_t records, int obs, double* rec) {
  cubic_run_lanes<v8d, 8>(x, r, steps, records, obs, rec);
}
__attribute__((target("avx2"))) void cubic_run_avx2(double* x, const double* r, std::int64_t steps,
                                                     std::int64_t records, int obs, double* rec) {
  cubic_run_lanes<v4d, 8>(x, r, steps, records, obs, rec);
}
void cubic_run_baseline(double* x, const double* r, std::int64_t steps, std::int64_t records, int obs,
                    double* rec) {
  cubic_run_lanes<v2d, 8>(x, r, steps, records, obs, rec);
}

#else
void cubic_run_scalar(double* x, const double* r, std::int64_t steps, std::int64_t records, int obs,
                      double* rec) {
  cubic_run_lanes<double, 8>(x, r, steps, records, obs, rec);
}
#endif

// dst[t] = src[t * stride] for t < count. The output (P x n_keep doubles) is far larger than
// the caches and is not read again here, so on x86-64 it is written with non-temporal stores
// (movnti): no read-for-ownership of every output line, which halves the memory traffic of the
// recording phase. The caller fences once at the end (stream_fence).
inline void write_streaming(double* dst, const double* src, std::int64_t stride, std::int64_t count) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  for (std::int64_t t = 0; t < count; ++t) {
    long long bits;
    std::memcpy(&bits, src + t * stride, sizeof bits);
    _mm_stream_si64(reinterpret_cast<long long*>(dst + t), bits);
  }
#else
  for (std::int64_t t = 0; t < count; ++t) dst[t] = src[t * stride];
#endif
}

#ifdef SHARPDYN_GCC_X86_VECTORS
// dst[0..8 * lines) = src[0..8 * lines), whole 64-byte lines of a 64-byte aligned dst.
__attribute__((target("avx512f"))) void stream_lines_avx512(double* dst, const double* src, std::int64_t lines) {
  for (std::int64_t i = 0; i < lines; ++i) _mm512_stream_pd(dst + 8 * i, _mm512_loadu_pd(src + 8 * i));
}
#endif

void stream_lines_portable(double* dst, const double* src, std::int64_t lines) {
  write_streaming(dst, src, 1, 8 * lines);
}

using StreamLinesFn = void (*)(double*, const double*, std::int64_t);

// A copy in flight: `lines` whole 64-byte lines from src to the 64-byte aligned dst, then `tail`
// doubles. While a transient runs, `num` lines are due every `den` steps (acc: the remainder).
// The lines are written by `stream` (the SIMD path's).
struct Drain {
  StreamLinesFn stream = stream_lines_portable;
  const double* src = nullptr;
  double* dst = nullptr;
  std::int64_t lines = 0, tail = 0;
  std::int64_t num = 0, den = 1, acc = 0;
};

Drain start_drain(const double* src, double* dst, std::int64_t count, StreamLinesFn stream) {
  const auto misalign = static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(dst) % 64);
  const std::int64_t head = std::min<std::int64_t>(count, ((64 - misalign) % 64) / 8);
  write_streaming(dst, src, 1, head);
  Drain d;
  d.stream = stream;
  d.src = src + head;
  d.dst = dst + head;
  d.lines = (count - head) / 8;
  d.tail = (count - head) % 8;
  return d;
}

// Spread the remaining lines evenly over the next `steps` transient steps.
void pace_drain(Drain& d, std::int64_t steps) {
  d.num = d.lines;
  d.den = std::max<std::int64_t>(steps, 1);
  d.acc = 0;
}

void drain_lines(Drain& d, std::int64_t lines) {
  lines = std::min(lines, d.lines);
  if (lines <= 0) return;
  d.stream(d.dst, d.src, lines);
  d.src += 8 * lines;
  d.dst += 8 * lines;
  d.lines -= lines;
}

void finish_drain(Drain& d) {
  drain_lines(d, d.lines);
  write_streaming(d.dst, d.src, 1, d.tail);
  d = Drain{};
}

// dst[0..count) = src[0..count) with non-temporal stores: movnti up to a 64-byte boundary of
// dst, then whole lines, then movnti for the tail.
void stream_copy(double* dst, const double* src, std::int64_t count, StreamLinesFn stream) {
  Drain d = start_drain(src, dst, count, stream);
  finish_drain(d);
}

#ifdef SHARPDYN_GCC_X86_VECTORS
// b[m] = rec[t0 .. t0 + 7][j0 + m] (rec: rows of kBlock doubles): an 8 x 8 tile transposed in
// AVX-512 registers with three rounds of two-source permutes.
typedef long long v8i __attribute__((vector_size(64)));
__attribute__((target("avx512f"), always_inline)) inline void transpose_tile8(const double* rec, std::int64_t t0,
                                                                              int j0, v8d b[8]) {
  v8d a[8];
  for (int i = 0; i < 8; ++i) std::memcpy(&a[i], rec + (t0 + i) * kBlock + j0, sizeof(v8d));
  // round 1: 2x2 blocks of single elements
  for (int i = 0; i < 8; i += 2) {
    b[i] = __builtin_shuffle(a[i], a[i + 1], v8i{0, 8, 2, 10, 4, 12, 6, 14});
    b[i + 1] = __builtin_shuffle(a[i], a[i + 1], v8i{1, 9, 3, 11, 5, 13, 7, 15});
  }
  // round 2: pairs
  for (int i = 0; i < 8; i += 4) {
    for (int q = 0; q < 2; ++q) {
      a[i + q] = __builtin_shuffle(b[i + q], b[i + q + 2], v8i{0, 1, 8, 9, 4, 5, 12, 13});
      a[i + q + 2] = __builtin_shuffle(b[i + q], b[i + q + 2], v8i{2, 3, 10, 11, 6, 7, 14, 15});
    }
  }
  // round 3: quads
  for (int q = 0; q < 4; ++q) {
    b[q] = __builtin_shuffle(a[q], a[q + 4], v8i{0, 1, 2, 3, 8, 9, 10, 11});
    b[q + 4] = __builtin_shuffle(a[q], a[q + 4], v8i{4, 5, 6, 7, 12, 13, 14, 15});
  }
}

// rec: (c x kBlock) row-major; out rows j < n get rec[t][j] at out + j * K + t, t < c. The
// record buffer is read a cache line at a time (8 x 8 tiles), into 8 contiguous rows that are
// then written out one after another with movnti (a single write-combining stream at a time).
__attribute__((target("avx512f"))) void transpose_rows_avx512(const double* rec, int n, std::int64_t c,
                                                                double* out, std::int64_t K) {
  const std::int64_t c8 = c - c % 8;
  const int n8 = n - n % 8;
  thread_local std::vector<double> lane_buffer;  // 8 transposed rows, written out one at a time
  lane_buffer.resize(static_cast<std::size_t>(8 * c));
  double* lanes = lane_buffer.data();
  for (int j0 = 0; j0 < n8; j0 += 8) {
    for (std::int64_t t0 = 0; t0 < c8; t0 += 8) {
      v8d b[8];
      transpose_tile8(rec, t0, j0, b);
      for (int m = 0; m < 8; ++m) std::memcpy(lanes + m * c + t0, &b[m], sizeof(v8d));
    }
    for (int m = 0; m < 8; ++m) {
      for (std::int64_t t = c8; t < c; ++t) lanes[m * c + t] = rec[t * kBlock + j0 + m];
      stream_copy(out + (j0 + m) * K, lanes + m * c, c, stream_lines_avx512);  // one row at a time
    }
  }
  for (int j = n8; j < n; ++j) write_streaming(out + j * K, rec + j, kBlock, c);  // ragged edge
}

// The same transpose into a cached buffer with ordinary stores: dst + j * ldd + t.
__attribute__((target("avx512f"))) void transpose_cached_avx512(const double* rec, int n, std::int64_t c,
                                                                  double* dst, std::int64_t ldd) {
  const std::int64_t c8 = c - c % 8;
  const int n8 = n - n % 8;
  for (int j0 = 0; j0 < n8; j0 += 8) {
    for (std::int64_t t0 = 0; t0 < c8; t0 += 8) {
      v8d b[8];
      transpose_tile8(rec, t0, j0, b);
      for (int m = 0; m < 8; ++m) std::memcpy(dst + (j0 + m) * ldd + t0, &b[m], sizeof(v8d));
    }
  }
  for (int j = 0; j < n; ++j) {
    const std::int64_t t_start = j < n8 ? c8 : 0;
    for (std::int64_t t = t_start; t < c; ++t) dst[j * ldd + t] = rec[t * kBlock + j];
  }
}

#endif

// Write the record buffer (c x kBlock) into output rows j < n at out + j * K.
void write_rows_portable(const double* rec, int n, std::int64_t c, double* out, std::int64_t K) {
  for (int j = 0; j < n; ++j) write_streaming(out + j * K, rec + j, kBlock, c);
}

// Write the record buffer (c x kBlock) into a cached buffer: dst + j * ldd + t.
void transpose_cached_portable(const double* rec, int n, std::int64_t c, double* dst, std::int64_t ldd) {
  for (int j = 0; j < n; ++j)
    for (std::int64_t t = 0; t < c; ++t) dst[j * ldd + t] = rec[t * kBlock + j];
}

using WriteRowsFn = void (*)(const double*, int, std::int64_t, double*, std::int64_t);

inline void stream_fence() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  _mm_sfence();
#endif
}

// ---------------------------------------------------------------- pipelined output
// Recording is bound by memory bandwidth (the P x n_keep result is written once, far larger than
// the caches) and the transient by the FP multipliers, so instead of taking turns the two are
// overlapped: a block's kept states are assembled in a per-thread buffer laid out exactly like
// its part of the output (n rows of K, contiguous; at most kBlock x kPipeMaxKeep doubles =
// 512 KiB, so it stays in L2; at the same offset within a cache line as the output), and that buffer is streamed out with non-temporal stores *during
// the same thread's next transient*, a cache line every step or so, spread evenly over the
// transient. The last block's buffer is streamed out after the loop. The arithmetic is the same
// as in the direct path, so results are bit-identical; only when the output is written changes.
constexpr std::int64_t kPipeMaxKeep = 1024;
constexpr std::int64_t kPipeRecordChunk = 32;  // record buffer 64 KiB, beside the 512 KiB one

// Advance the kBlock lanes `steps` steps, streaming out the lines of `d` due meanwhile.
using CubicAdvanceDrainFn = void (*)(double*, const double*, std::int64_t, Drain&);

// Other paths: advance (with that path's Run), then stream out the lines due (per chunk of the
// transient, so the stores come in bursts of a few hundred lines). A loop with the stores fused
// in, as on AVX-512, measured 5-10 % slower than this on the AVX2 and SSE2 paths.
template <CubicRunFn Run>
void cubic_advance_drain_portable(double* x, const double* r, std::int64_t steps, Drain& d) {
  Run(x, r, steps, 0, 0, nullptr);
  d.acc += d.num * steps;
  const std::int64_t due = d.acc / d.den;
  d.acc -= due * d.den;
  drain_lines(d, due);
}

#ifdef SHARPDYN_GCC_X86_VECTORS
// The AVX-512 path interleaves the stores with the steps themselves: the same eight-register
// loop as cubic_registers (same expression, same bits), plus a load from L2 and a streaming
// store whenever a line is due; they use the load/store ports, which the loop leaves idle.
__attribute__((target("avx512f"))) void cubic_advance_drain_avx512(double* x, const double* r,
                                                                     std::int64_t steps, Drain& d) {
  static_assert(kBlock == 64, "one group of eight 8-lane registers");
  v8d xs[8], rs[8];
  for (int v = 0; v < 8; ++v) {
    std::memcpy(&xs[v], x + 8 * v, sizeof(v8d));
    std::memcpy(&rs[v], r + 8 * v, sizeof(v8d));
  }
  const double* src = d.src;
  double* dst = d.dst;
  std::int64_t lines = d.lines, acc = d.acc;
  const std::int64_t num = d.num, den = d.den;
  for (std::int64_t t = 0; t < steps; ++t) {
#pragma GCC unroll 8
    for (int v = 0; v < 8; ++v) xs[v] = rs[v] * xs[v] * (1.0 - xs[v] * xs[v]);
    acc += num;
    while (acc >= den) {
      acc -= den;
      if (lines > 0) {
        _mm512_stream_pd(dst, _mm512_loadu_pd(src));
        src += 8;
        dst += 8;
        --lines;
      }
    }
  }
  for (int v = 0; v < 8; ++v) std::memcpy(x + 8 * v, &xs[v], sizeof(v8d));
  d.src = src;
  d.dst = dst;
  d.lines = lines;
  d.acc = acc;
}
#endif

// Lanes that left their bound during the last `steps` steps (started at step s0 from `saved`):
// replay them one at a time to find the first step out of bounds. Exact because the cubic map
// never comes back from beyond its bound (cubic_map.hpp).
void cubic_check(const double* x, const double* saved, const double* r, const double* bound,
                 int n, std::int64_t s0, std::int64_t steps, std::int64_t* at) {
  for (int j = 0; j < n; ++j) {
    if (at[j] >= 0 || std::fabs(x[j]) <= bound[j]) continue;
    double v = saved[j];
    for (std::int64_t t = 1; t <= steps; ++t) {
      v = cubic::step(v, r[j]);
      if (!(std::fabs(v) <= bound[j])) {
        at[j] = s0 + t;
        break;
      }
    }
  }
}

// ---- the transient, with exact cycle detection
// A lane whose state equals, bit for bit, its state p steps earlier repeats those p states
// forever (the map is a deterministic function of the double it is given), so once every lane
// of a block is in such a cycle, or has diverged, the rest of the transient can be skipped by
// indexing into the cycle: the result is the same bits as iterating. This is the periodicity
// check of Mandelbrot renderers; it pays in periodic windows (stable fixed points and cycles
// are reached exactly after a few hundred steps) and costs ~3% in chaos. The last kProbe states
// of every full chunk are kept in a small buffer and compared with the chunk's final state.
constexpr std::int64_t kProbe = 32;  // cycles of period <= kProbe are detected

// For each lane j < n that has not diverged: the smallest p <= kProbe with
// x[j] == probe[kProbe - p][j] (probe row t: the state kProbe - t steps before x), else 0.
// Returns whether every such lane has one.
SHARPDYN_ALWAYS_INLINE bool cycle_periods_impl(const double* __restrict x, const double* __restrict probe,
                                               int n, const std::int64_t* __restrict at,
                                               int* __restrict period) {
  for (int j = 0; j < kBlock; ++j) period[j] = 0;
  for (int p = kProbe; p >= 1; --p) {  // the last match written is the smallest p
    const double* row = probe + (kProbe - p) * kBlock;
#pragma omp simd
    for (int j = 0; j < kBlock; ++j) period[j] = x[j] == row[j] ? p : period[j];
  }
  for (int j = 0; j < n; ++j)
    if (at[j] < 0 && period[j] == 0) return false;
  return true;
}

using CyclePeriodsFn = bool (*)(const double*, const double*, int, const std::int64_t*, int*);
bool cycle_periods_baseline(const double* x, const double* probe, int n, const std::int64_t* at, int* period) {
  return cycle_periods_impl(x, probe, n, at, period);
}
#ifdef SHARPDYN_X86_DISPATCH
__attribute__((target("avx2"))) bool cycle_periods_avx2(const double* x, const double* probe, int n,
                                                         const std::int64_t* at, int* period) {
  return cycle_periods_impl(x, probe, n, at, period);
}
__attribute__((target("avx512f"))) bool cycle_periods_avx512(const double* x, const double* probe, int n,
                                                              const std::int64_t* at, int* period) {
  return cycle_periods_impl(x, probe, n, at, period);
}
#endif

using UvRunFn = void (*)(double*, double*, const double*, const double*, double*, int, std::int64_t,
                         std::int64_t, int, double*);

// The functions of one SIMD path (simd_dispatch.hpp); paths_for(isa) below.
struct Paths {
  CubicRunFn cubic_run;
  CubicAdvanceDrainFn cubic_advance_drain;
  StreamLinesFn stream_lines;
  WriteRowsFn write_rows, transpose_cached;
  CyclePeriodsFn cycle_periods;
  UvRunFn uv_run;
};

// Run T transient steps of the block: advance(steps) moves x on by `steps` steps (optionally
// doing other work meanwhile); divergence and interrupts are checked after each chunk.
template <class Advance>
void cubic_transient(const Paths& k, double* x, const double* r, const double* bound, int n,
                     std::int64_t T, std::int64_t* at, PollCounter& poll, Advance&& advance) {
  alignas(64) double saved[kBlock];
  alignas(64) int period[kBlock];
  thread_local std::vector<double> probe;
  probe.resize(static_cast<std::size_t>(kProbe * kBlock));
  for (std::int64_t s = 0; s < T;) {
    const std::int64_t c = std::min(kChunk, T - s);
    const bool probing = c == kChunk;
    std::copy(x, x + n, saved);
    if (probing) {
      advance(c - kProbe);
      k.cubic_run(x, r, kProbe, kProbe, static_cast<int>(Observable::State), probe.data());
    } else {
      advance(c);
    }
    cubic_check(x, saved, r, bound, n, s, c, at);
    s += c;
    if (poll.add(c * kBlock)) return;  // interrupted: the caller stops too
    if (probing && s < T && k.cycle_periods(x, probe.data(), n, at, period)) {
      const std::int64_t left = T - s;
      for (int j = 0; j < n; ++j)
        if (at[j] < 0) x[j] = probe[(kProbe - period[j] + left % period[j]) * kBlock + j];
      return;
    }
  }
}

// Steps of a T-step transient that cubic_transient hands to `advance` when nothing is skipped.
std::int64_t advanced_steps(std::int64_t T) {
  const std::int64_t full = T / kChunk;
  return T - full * kProbe;
}

// The lanes of one block of n <= kBlock parameters, in SoA form; lanes n.. are padding
// (r = x = 0 stays 0). Marks the block's parameters as not diverged.
struct CubicLanes {
  alignas(64) double x[kBlock], r[kBlock], bound[kBlock];
  int n;
  CubicLanes(const double* r_in, const double* x0, int count, std::int64_t* at) : n(count) {
    for (int j = 0; j < kBlock; ++j) {
      x[j] = j < n ? x0[j] : 0.0;
      r[j] = j < n ? r_in[j] : 0.0;
      bound[j] = j < n ? cubic::divergence_bound(x0[j], r_in[j]) : 0.0;
    }
    std::fill(at, at + n, std::int64_t{-1});
  }
};

// Record the K kept states after a T-step transient, `chunk` steps at a time: each chunk's
// record buffer (c x kBlock) is handed to sink(rec, c, k), k = its first kept step.
template <class Sink>
void cubic_record(const Paths& paths, CubicLanes& L, std::int64_t T, std::int64_t K, int obs,
                  std::int64_t chunk, std::int64_t* at, PollCounter& poll, Sink&& sink) {
  alignas(64) double saved[kBlock];
  // reused per thread: large enough to be served by mmap, so a fresh one per block would page-fault
  thread_local std::vector<double> rec;
  rec.resize(static_cast<std::size_t>(std::min(chunk, K) * kBlock));
  for (std::int64_t k = 0; k < K;) {
    const std::int64_t c = std::min(chunk, K - k);
    const std::int64_t steps = (k + c == K) ? c - 1 : c;
    std::copy(L.x, L.x + L.n, saved);
    paths.cubic_run(L.x, L.r, steps, c, obs, rec.data());
    cubic_check(L.x, saved, L.r, L.bound, L.n, T + k, steps, at);
    sink(rec.data(), c, k);
    k += c;
    if (poll.add(c * kBlock)) return;
  }
}

// Rows j < n of `rows` (row stride K) are NaN from the kept step at which lane j diverged on.
void nan_after_divergence(double* rows, int n, std::int64_t T, std::int64_t K, const std::int64_t* at) {
  for (int j = 0; j < n; ++j) {
    if (at[j] < 0) continue;
    const std::int64_t first = std::max<std::int64_t>(at[j] - T, 0);
    std::fill(rows + j * K + first, rows + (j + 1) * K, kNaN);
  }
}

// One block of n <= kBlock parameters, written straight to out (row 0 of the block, row stride
// K). Returns the last states in x_last (n values).
void cubic_block(const Paths& paths, const double* r_in, const double* x0, int n, std::int64_t T,
                 std::int64_t K, int obs, double* out, std::int64_t* at, double* x_last,
                 PollCounter& poll) {
  CubicLanes L(r_in, x0, n, at);
  cubic_transient(paths, L.x, L.r, L.bound, n, T, at, poll,
                  [&](std::int64_t steps) { paths.cubic_run(L.x, L.r, steps, 0, obs, nullptr); });
  if (poll.stop_requested()) return;
  cubic_record(paths, L, T, K, obs, kRecordChunk, at, poll,
               [&](const double* rec, std::int64_t c, std::int64_t k) {
                 paths.write_rows(rec, n, c, out + k, K);
               });
  stream_fence();
  if (poll.stop_requested()) return;
  nan_after_divergence(out, n, T, K, at);
  std::copy(L.x, L.x + n, x_last);
}

// cubic_block for the pipelined path: streams out the previous block in `drain` during this
// block's transient, then leaves this block's rows (n x K, assembled in `pending`) in `drain`.
void cubic_block_pipelined(const Paths& paths, const double* r_in, const double* x0, int n,
                           std::int64_t T, std::int64_t K, int obs, double* out, std::int64_t* at,
                           std::vector<double>& pending, Drain& drain, PollCounter& poll) {
  CubicLanes L(r_in, x0, n, at);
  pace_drain(drain, advanced_steps(T));
  cubic_transient(paths, L.x, L.r, L.bound, n, T, at, poll,
                  [&](std::int64_t steps) { paths.cubic_advance_drain(L.x, L.r, steps, drain); });
  finish_drain(drain);  // (done already unless the transient was cut short by a cycle)
  if (poll.stop_requested()) return;
  // pending rows start at the same offset within a cache line as the output's, so the
  // transposed tiles, the drain's loads and its streaming stores all fall on whole lines
  pending.resize(static_cast<std::size_t>(kBlock * K + 8));
  const auto line_slot = [](const void* p) {
    return static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(p) % 64 / 8);
  };
  double* buf = pending.data() + (line_slot(out) - line_slot(pending.data()) + 8) % 8;
  cubic_record(paths, L, T, K, obs, kPipeRecordChunk, at, poll,
               [&](const double* rec, std::int64_t c, std::int64_t k) {
                 paths.transpose_cached(rec, n, c, buf + k, K);
               });
  if (poll.stop_requested()) return;
  nan_after_divergence(buf, n, T, K, at);
  drain = start_drain(buf, out, n * K, paths.stream_lines);
}

// ---------------------------------------------------------------- UV normalised map

template <int Obs>
SHARPDYN_ALWAYS_INLINE void uv_write(double g, double z, double Y, double* dst) {
  if constexpr (Obs == static_cast<int>(Observable::State)) {
    dst[0] = g;
    dst[1] = z;
  } else if constexpr (Obs == static_cast<int>(Observable::Sharpness)) {
    double rad = 0.25 * z * z + g * (3.0 * g + 2.0 * Y);
    rad = rad < 0.0 ? 0.0 : rad;
    dst[0] = 0.5 * z + std::sqrt(rad);
  } else if constexpr (Obs == static_cast<int>(Observable::Loss)) {
    dst[0] = 0.5 * g * g;
  } else {
    dst[0] = z;
  }
}

// Advance (and, for Obs >= 0, record before each step) every lane; a lane whose g leaves
// its bound or whose z is not finite gets flag = 1 (NaN compares false, so NaN is caught).
template <int Obs>
SHARPDYN_ALWAYS_INLINE void uv_loop(double* __restrict g, double* __restrict z,
                                    const double* __restrict Y, const double* __restrict bound,
                                    double* __restrict flag, int n, std::int64_t records,
                                    std::int64_t steps, double* __restrict rec) {
  constexpr int dim = Obs == static_cast<int>(Observable::State) ? 2 : 1;
  for (std::int64_t t = 0; t < steps; ++t) {
    double* row = nullptr;
    if constexpr (Obs >= 0) row = rec + t * n * dim;
#pragma omp simd
    for (int j = 0; j < n; ++j) {
      const double gj = g[j], zj = z[j], y = Y[j];
      if constexpr (Obs >= 0) uv_write<Obs>(gj, zj, y, row + j * dim);
      const double gn = gj * (1.0 - zj + gj * (gj + y));
      const double zn = zj + gj * (zj * gj - 4.0 * (gj + y));
      g[j] = gn;
      z[j] = zn;
      const bool ok = std::fabs(gn) <= bound[j] && std::fabs(zn) <= kMaxFinite;
      flag[j] = ok ? flag[j] : 1.0;
    }
  }
  if constexpr (Obs >= 0) {
    for (std::int64_t t = steps; t < records; ++t) {
      double* row = rec + t * n * dim;
      for (int j = 0; j < n; ++j) uv_write<Obs>(g[j], z[j], Y[j], row + j * dim);
    }
  }
}

SHARPDYN_ALWAYS_INLINE void uv_run_impl(double* __restrict g, double* __restrict z,
                                        const double* __restrict Y, const double* __restrict bound,
                                        double* __restrict flag, int n, std::int64_t records,
                                        std::int64_t steps, int obs, double* __restrict rec) {
  if (rec == nullptr) {
    uv_loop<-1>(g, z, Y, bound, flag, n, records, steps, rec);
    return;
  }
  switch (obs) {
    case static_cast<int>(Observable::Sharpness):
      uv_loop<static_cast<int>(Observable::Sharpness)>(g, z, Y, bound, flag, n, records, steps, rec);
      break;
    case static_cast<int>(Observable::Loss):
      uv_loop<static_cast<int>(Observable::Loss)>(g, z, Y, bound, flag, n, records, steps, rec);
      break;
    case static_cast<int>(Observable::Ntk):
      uv_loop<static_cast<int>(Observable::Ntk)>(g, z, Y, bound, flag, n, records, steps, rec);
      break;
    default:
      uv_loop<static_cast<int>(Observable::State)>(g, z, Y, bound, flag, n, records, steps, rec);
  }
}

void uv_run_baseline(double* g, double* z, const double* Y, const double* bound, double* flag, int n,
                     std::int64_t records, std::int64_t steps, int obs, double* rec) {
  uv_run_impl(g, z, Y, bound, flag, n, records, steps, obs, rec);
}
#ifdef SHARPDYN_X86_DISPATCH
__attribute__((target("avx2"))) void uv_run_avx2(double* g, double* z, const double* Y, const double* bound,
                                                  double* flag, int n, std::int64_t records,
                                                  std::int64_t steps, int obs, double* rec) {
  uv_run_impl(g, z, Y, bound, flag, n, records, steps, obs, rec);
}
__attribute__((target("avx512f"))) void uv_run_avx512(double* g, double* z, const double* Y,
                                                       const double* bound, double* flag, int n,
                                                       std::int64_t records, std::int64_t steps, int obs,
                                                       double* rec) {
  uv_run_impl(g, z, Y, bound, flag, n, records, steps, obs, rec);
}
#endif

// The functions of the path `isa` (resolved: never kAuto).
const Paths& paths_for(Isa isa) {
#ifdef SHARPDYN_GCC_X86_VECTORS
  static const Paths baseline{cubic_run_baseline,        cubic_advance_drain_portable<cubic_run_baseline>,
                              stream_lines_portable, write_rows_portable,
                              transpose_cached_portable, cycle_periods_baseline,
                              uv_run_baseline};
  static const Paths avx2{cubic_run_avx2,        cubic_advance_drain_portable<cubic_run_avx2>,
                          stream_lines_portable, write_rows_portable,
                          transpose_cached_portable, cycle_periods_avx2,
                          uv_run_avx2};
  static const Paths avx512{cubic_run_avx512,      cubic_advance_drain_avx512,
                            stream_lines_avx512,   transpose_rows_avx512,
                            transpose_cached_avx512, cycle_periods_avx512,
                            uv_run_avx512};
  if (isa == Isa::kAvx512) return avx512;
  if (isa == Isa::kAvx2) return avx2;
  return baseline;
#else
  (void)isa;  // one portable path (the vector lanes need GCC on x86-64)
  static const Paths portable{cubic_run_scalar,      cubic_advance_drain_portable<cubic_run_scalar>,
                              stream_lines_portable, write_rows_portable,
                              transpose_cached_portable, cycle_periods_baseline,
                              uv_run_baseline};
  return portable;
#endif
}

void uv_check(const double* flag, const double* gs, const double* zs, const double* Y,
              const double* bound, int n, std::int64_t s0, std::int64_t steps, std::int64_t* at) {
  for (int j = 0; j < n; ++j) {
    if (at[j] >= 0 || flag[j] == 0.0) continue;
    double g = gs[j], z = zs[j];
    for (std::int64_t t = 1; t <= steps; ++t) {
      uvn::step(g, z, Y[j]);
      if (!(std::fabs(g) <= bound[j] && std::fabs(z) <= kMaxFinite)) {
        at[j] = s0 + t;
        break;
      }
    }
  }
}

void uv_block(const Paths& paths, const double* Y_in, const double* g0, const double* z0, int n, std::int64_t T,
              std::int64_t K, int obs, double* out, std::int64_t* at, double* g_last,
              double* z_last, PollCounter& poll) {
  const int dim = uv_observable_dim(static_cast<Observable>(obs));
  alignas(64) double g[kBlock], z[kBlock], Y[kBlock], bound[kBlock], flag[kBlock];
  alignas(64) double gs[kBlock], zs[kBlock];
  for (int j = 0; j < n; ++j) {
    g[j] = g0[j];
    z[j] = z0[j];
    Y[j] = Y_in[j];
    bound[j] = uvn::divergence_bound(g0[j], Y_in[j]);
    flag[j] = 0.0;
    at[j] = -1;
  }
  auto advance = [&](std::int64_t s0, std::int64_t records, std::int64_t steps, double* rec) {
    std::copy(g, g + n, gs);
    std::copy(z, z + n, zs);
    paths.uv_run(g, z, Y, bound, flag, n, records, steps, obs, rec);
    uv_check(flag, gs, zs, Y, bound, n, s0, steps, at);
  };
  for (std::int64_t s = 0; s < T;) {
    const std::int64_t c = std::min(kChunk, T - s);
    advance(s, 0, c, nullptr);
    s += c;
    if (poll.add(c * kBlock)) return;  // interrupted: the outputs are discarded
  }
  thread_local std::vector<double> rec;
  rec.resize(static_cast<std::size_t>(std::min(kRecordChunk, K) * n * dim));
  const std::int64_t row_stride = K * dim;
  for (std::int64_t k = 0; k < K;) {
    const std::int64_t c = std::min(kRecordChunk, K - k);
    const std::int64_t steps = (k + c == K) ? c - 1 : c;
    advance(T + k, c, steps, rec.data());
    for (int j = 0; j < n; ++j) {
      double* row = out + j * row_stride + k * dim;
      for (std::int64_t t = 0; t < c; ++t)
        for (int d = 0; d < dim; ++d) row[t * dim + d] = rec[(t * n + j) * dim + d];
    }
    k += c;
    if (poll.add(c * kBlock)) return;
  }
  for (int j = 0; j < n; ++j) {
    g_last[j] = g[j];
    z_last[j] = z[j];
    if (at[j] < 0) continue;
    const std::int64_t first = std::max<std::int64_t>(at[j] - T, 0);
    for (std::int64_t t = first * dim; t < row_stride; ++t) out[j * row_stride + t] = kNaN;
  }
}

std::int64_t block_count(std::int64_t count) { return (count + kBlock - 1) / kBlock; }

}  // namespace

int uv_observable_dim(Observable obs) noexcept { return obs == Observable::State ? 2 : 1; }

void cubic_orbits(const double* r, const double* x0, std::int64_t count, std::int64_t n_transient,
                  std::int64_t n_keep, Observable obs, bool continuation, double* out,
                  std::int64_t* diverged_at, int threads, Isa isa, Interrupt& stop) {
  const Paths& paths = paths_for(resolve_isa(isa));
  const int o = static_cast<int>(obs);
  if (continuation) {
    PollCounter poll(stop, kPollWork);
    double x = 0.0;
    for (std::int64_t i = 0; i < count && !poll.add(kBlock); ++i) {
      const double start = (i > 0 && diverged_at[i - 1] < 0) ? x : x0[i];
      cubic_block(paths, r + i, &start, 1, n_transient, n_keep, o, out + i * n_keep, diverged_at + i, &x,
                  poll);
    }
    return;
  }
  const std::int64_t blocks = block_count(count);
  if (n_keep <= kPipeMaxKeep && n_transient >= n_keep) {  // enough transient to hide the output
    // team_for's loop, plus per-thread output state carried from block to block and drained
    // after the thread's last block
    const int nt = resolve_threads(threads);
    TeamLatch latch(stop);
#pragma omp parallel num_threads(nt)
    {
      thread_local std::vector<double> pending;  // reused: 512 KiB would page-fault if fresh
      Drain drain;
      PollCounter poll(stop, kPollWork);
#pragma omp for schedule(dynamic, 1) nowait
      for (std::int64_t b = 0; b < blocks; ++b) {
        if (poll.stop_requested()) continue;
        const std::int64_t i0 = b * kBlock;
        const int n = static_cast<int>(std::min<std::int64_t>(kBlock, count - i0));
        cubic_block_pipelined(paths, r + i0, x0 + i0, n, n_transient, n_keep, o, out + i0 * n_keep,
                              diverged_at + i0, pending, drain, poll);
      }
      finish_drain(drain);
      stream_fence();
      latch.arrive();
    }
    return;
  }
  team_for(blocks, threads, stop, TeamLoop{kPollWork, 1}, [&](std::int64_t b, PollCounter& poll) {
    const std::int64_t i0 = b * kBlock;
    const int n = static_cast<int>(std::min<std::int64_t>(kBlock, count - i0));
    double last[kBlock];
    cubic_block(paths, r + i0, x0 + i0, n, n_transient, n_keep, o, out + i0 * n_keep, diverged_at + i0,
                last, poll);
  });
}

void uv_orbits(const double* Y, const double* g0, const double* z0, std::int64_t count,
               std::int64_t n_transient, std::int64_t n_keep, Observable obs, bool continuation,
               double* out, std::int64_t* diverged_at, int threads, Isa isa, Interrupt& stop) {
  const Paths& paths = paths_for(resolve_isa(isa));
  const int o = static_cast<int>(obs);
  const std::int64_t row = n_keep * uv_observable_dim(obs);
  if (continuation) {
    PollCounter poll(stop, kPollWork);
    double g = 0.0, z = 0.0;
    for (std::int64_t i = 0; i < count && !poll.add(kBlock); ++i) {
      const bool carry = i > 0 && diverged_at[i - 1] < 0;
      const double gs = carry ? g : g0[i], zs = carry ? z : z0[i];
      uv_block(paths, Y + i, &gs, &zs, 1, n_transient, n_keep, o, out + i * row, diverged_at + i, &g, &z,
               poll);
    }
    return;
  }
  team_for(block_count(count), threads, stop, TeamLoop{kPollWork, 1}, [&](std::int64_t b, PollCounter& poll) {
    const std::int64_t i0 = b * kBlock;
    const int n = static_cast<int>(std::min<std::int64_t>(kBlock, count - i0));
    double gl[kBlock], zl[kBlock];
    uv_block(paths, Y + i0, g0 + i0, z0 + i0, n, n_transient, n_keep, o, out + i0 * row,
             diverged_at + i0, gl, zl, poll);
  });
}

}  // namespace sharpdyn::orbit
