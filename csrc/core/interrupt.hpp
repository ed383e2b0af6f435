// Cooperative interruption of long kernels (Ctrl-C), and a progress count.
//
// An Interrupt is a stop flag plus an optional poll callback. Kernels never block on it and
// never call the callback from their innermost (SIMD) loops: between blocks of work they ask
// `check()`, which costs one relaxed atomic load on every thread, and on the thread that
// created the Interrupt (the caller's thread, which is OpenMP's master thread of every team the
// kernel starts) also calls the callback, at most once per `interval`. The callback decides
// whether to stop (the Python bindings reacquire the GIL there and run the signal handlers);
// once a stop is requested every thread sees it at its next check and the kernel returns early,
// leaving its outputs partly written (documented per kernel). A kernel that is not stopped
// does exactly the same arithmetic as without an Interrupt, so its results are bit-identical.
//
// Core code stays free of Python: the callback is a plain function pointer and a context.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "core/parallel.hpp"

#ifdef SHARPDYN_HAS_OPENMP
#include <omp.h>
#endif

namespace sharpdyn {

class Interrupt {
 public:
  // Returns true to request a stop. Called only on the creating thread.
  using Poll = bool (*)(void* context);

  // Never polls; stops only if request_stop() is called.
  Interrupt() noexcept = default;

  Interrupt(Poll poll, void* context,
            std::chrono::steady_clock::duration interval = std::chrono::milliseconds(50)) noexcept
      : poll_(poll),
        context_(context),
        interval_(interval),
        next_poll_(std::chrono::steady_clock::now() + interval) {}

  Interrupt(const Interrupt&) = delete;
  Interrupt& operator=(const Interrupt&) = delete;

  // Any thread.
  bool stop_requested() const noexcept { return stop_.load(std::memory_order_relaxed); }
  void request_stop() noexcept { stop_.store(true, std::memory_order_relaxed); }

  // Any thread: whether to stop now. On the creating thread also runs the poll callback when
  // `interval` has passed since it last ran (or since construction: short calls never poll).
  bool check() noexcept {
    if (stop_requested()) return true;
    if (poll_ == nullptr || std::this_thread::get_id() != owner_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_poll_) return false;
    next_poll_ = now + interval_;
    if (poll_(context_)) request_stop();
    return stop_requested();
  }

  // Whether check() can ever call back on this thread (then waiting threads should poll).
  bool polls_here() const noexcept {
    return poll_ != nullptr && std::this_thread::get_id() == owner_;
  }

  // Work finished so far (a kernel-defined unit, e.g. training steps); any thread.
  void add_progress(std::int64_t units) noexcept {
    progress_.fetch_add(units, std::memory_order_relaxed);
  }
  std::int64_t progress() const noexcept { return progress_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> progress_{0};
  Poll poll_ = nullptr;
  void* context_ = nullptr;
  std::chrono::steady_clock::duration interval_{};
  std::chrono::steady_clock::time_point next_poll_{};
  std::thread::id owner_ = std::this_thread::get_id();
};

// An Interrupt that is never set, for callers that do not want to be interrupted.
inline Interrupt& never_interrupted() noexcept {
  static Interrupt none;
  return none;
}

// Rate limit for check() inside a kernel: add(work) counts work units (e.g. lane-steps) and
// checks once `every` units have accumulated since the last check (the first add checks at
// once). A thread keeps one counter for all the blocks it processes, so short blocks add up.
class PollCounter {
 public:
  PollCounter(Interrupt& stop, std::int64_t every) noexcept : stop_(stop), every_(every) {}

  // Whether to stop (true once a stop is requested and the count came due).
  bool add(std::int64_t work) noexcept {
    left_ -= work;
    if (left_ > 0) return false;
    left_ = every_;
    return stop_.check();
  }

  bool stop_requested() const noexcept { return stop_.stop_requested(); }
  Interrupt& interrupt() noexcept { return stop_; }

 private:
  Interrupt& stop_;
  std::int64_t every_;
  std::int64_t left_ = 0;
};

// For a worksharing loop run with `nowait` inside `#pragma omp parallel`: every thread calls
// arrive() after its share; the creating thread of the Interrupt then waits for the rest of the
// team (spinning for up to 0.2 ms, then sleeping), waking every 10 ms to check (and so poll) the
// Interrupt, so an interrupt is still
// noticed while other threads finish long iterations. The last thread to arrive wakes it at
// once. Other threads go straight on to the region's closing barrier.
class TeamLatch {
 public:
  static void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  explicit TeamLatch(Interrupt& stop) noexcept : stop_(stop) {}

  void arrive() {
#ifdef SHARPDYN_HAS_OPENMP
    const int team = omp_get_num_threads();
#else
    const int team = 1;
#endif
    const int before = arrived_.fetch_add(1);  // seq_cst, paired with sleeping_ below
    if (before + 1 == team) {                   // the last one: wake the owner if it sleeps
      if (sleeping_.load()) {
        { std::lock_guard<std::mutex> lock(mutex_); }
        all_arrived_.notify_all();
      }
      return;
    }
    if (!stop_.polls_here()) return;
    // Usually the others are about to finish: spin for a moment, as an OpenMP barrier does,
    // before going to sleep.
    const auto start = std::chrono::steady_clock::now();
    while (arrived_.load() < team) {
      const auto waited = std::chrono::steady_clock::now() - start;
      if (waited > std::chrono::microseconds(200)) break;
      if (waited > std::chrono::microseconds(20)) {
        std::this_thread::yield();
      } else {
        cpu_relax();
      }
    }
    if (arrived_.load() >= team) return;
    std::unique_lock<std::mutex> lock(mutex_);
    sleeping_.store(true);  // seq_cst: either the last thread sees it or we see its arrival
    while (arrived_.load() < team) {
      all_arrived_.wait_for(lock, std::chrono::milliseconds(10));
      if (arrived_.load() >= team) break;
      lock.unlock();  // the poll may take the GIL: never while holding the mutex
      stop_.check();
      lock.lock();
    }
  }

 private:
  Interrupt& stop_;
  std::atomic<int> arrived_{0};
  std::atomic<bool> sleeping_{false};
  std::mutex mutex_;
  std::condition_variable all_arrived_;
};

// How team_for shares its items and polls for a stop.
struct TeamLoop {
  std::int64_t poll_every;      // work units between interrupt checks (PollCounter)
  int chunk = 0;                // > 0: schedule(dynamic, chunk); 0: schedule(static)
  std::int64_t item_work = 0;   // > 0: each item first adds this much work, and is skipped if a
                                // stop comes due; 0: skipped once a stop is requested (the body
                                // counts its own work)
};

// The loop of every OpenMP kernel over independent items: body(i, poll) for i in [0, count),
// shared by a team of resolve_threads(threads) threads, each with its own PollCounter; the
// creating thread keeps polling `stop` while the others finish (TeamLatch). Items are
// independent, so the schedule changes only the timing, never the bits. Once a stop is
// requested the remaining items are skipped (the outputs are then to be discarded).
template <class Body>
void team_for(std::int64_t count, int threads, Interrupt& stop, const TeamLoop& loop, Body&& body) {
  const int nt = resolve_threads(threads);
  TeamLatch latch(stop);
#pragma omp parallel num_threads(nt)
  {
    PollCounter poll(stop, loop.poll_every);
    const auto item = [&](std::int64_t i) {
      if (loop.item_work > 0 ? poll.add(loop.item_work) : poll.stop_requested()) return;
      body(i, poll);
    };
    if (loop.chunk > 0) {
#pragma omp for schedule(dynamic, loop.chunk) nowait
      for (std::int64_t i = 0; i < count; ++i) item(i);
    } else {
#pragma omp for schedule(static) nowait
      for (std::int64_t i = 0; i < count; ++i) item(i);
    }
    latch.arrive();
  }
}

}  // namespace sharpdyn
