// Ctrl-C (and progress reports) for kernels that run with the GIL released.
//
//   PythonInterrupt guard;                       // GIL held, on the calling thread
//   {
//     py::gil_scoped_release release;
//     kernel(..., guard.interrupt());            // the kernel checks it between blocks
//   }
//   guard.raise_if_stopped();                    // KeyboardInterrupt if Ctrl-C stopped it
//
// The kernel calls back (core/interrupt.hpp) only on the calling thread, at most every 50 ms:
// the callback reacquires the GIL, runs Python's signal handlers (PyErr_CheckSignals) and, if
// one raised (SIGINT raises KeyboardInterrupt), keeps the exception and asks the kernel to stop.
// With a progress callable it also passes the kernel's progress count to it when that changed;
// an exception from it stops the kernel the same way. A custom SIGINT handler that does not
// raise leaves the kernel running, as in pure Python code. Called from another thread than
// the main one (which alone runs signal handlers) and without progress, it never polls.
#pragma once

#include <pybind11/gil_safe_call_once.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <exception>
#include <optional>
#include <utility>

#include "core/interrupt.hpp"

namespace sharpdyn::bindings {
namespace py = pybind11;

// Hidden visibility like pybind11's own types, which it holds (no -Wattributes warning).
#if defined(__GNUC__) && !defined(_WIN32)
#define SHARPDYN_BINDING_HIDDEN __attribute__((visibility("hidden")))
#else
#define SHARPDYN_BINDING_HIDDEN
#endif

class SHARPDYN_BINDING_HIDDEN PythonInterrupt {
 public:
  explicit PythonInterrupt(py::object progress = py::none())
      : progress_(std::move(progress)),
        stop_(progress_.is_none() && !on_main_thread() ? nullptr : &PythonInterrupt::poll, this) {}

  PythonInterrupt(const PythonInterrupt&) = delete;
  PythonInterrupt& operator=(const PythonInterrupt&) = delete;

  Interrupt& interrupt() noexcept { return stop_; }

  // Whether a Python exception stopped the kernel, and whether it was a KeyboardInterrupt.
  bool stopped() const noexcept { return error_.has_value(); }
  bool keyboard_interrupt() const { return error_.has_value() && error_->matches(PyExc_KeyboardInterrupt); }

  // GIL held: rethrow the exception that stopped the kernel, if any.
  void raise_if_stopped() {
    if (!error_) return;
    py::error_already_set e = std::move(*error_);
    error_.reset();
    throw e;
  }

  // GIL held: drop a KeyboardInterrupt (the caller returns partial results instead).
  void forget_keyboard_interrupt() {
    if (keyboard_interrupt()) error_.reset();
  }

  // GIL held: pass the current progress count to the progress callable if it changed.
  void report_progress() {
    if (progress_.is_none()) return;
    const std::int64_t now = stop_.progress();
    if (now == reported_) return;
    reported_ = now;
    progress_(now);
  }

 private:
  // Only the main thread runs signal handlers: elsewhere there is nothing to poll for (unless
  // progress is wanted), and taking the GIL every 50 ms would only slow the kernel down.
  static bool on_main_thread() {  // GIL held
    PYBIND11_CONSTINIT static py::gil_safe_call_once_and_store<unsigned long> main_ident;
    const unsigned long ident =
        main_ident
            .call_once_and_store_result([] {
              return py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
            })
            .get_stored();
    return PyThread_get_thread_ident() == ident;
  }

  static bool poll(void* context) noexcept {
    auto* self = static_cast<PythonInterrupt*>(context);
    py::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      self->report_progress();
      return false;
    } catch (py::error_already_set& e) {
      self->error_.emplace(std::move(e));
    } catch (const std::exception& e) {  // e.g. a failed conversion of the callable's result
      PyErr_SetString(PyExc_RuntimeError, e.what());
      self->error_.emplace();
    } catch (...) {
      PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception while polling for interrupts");
      self->error_.emplace();
    }
    return true;
  }

  py::object progress_;
  std::int64_t reported_ = -1;
  std::optional<py::error_already_set> error_;
  Interrupt stop_;
};

}  // namespace sharpdyn::bindings
