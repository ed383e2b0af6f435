// Thread-count handling shared by every OpenMP kernel. Kernels never call
// omp_set_num_threads (a global); they pass num_threads(resolve_threads(n)).
#pragma once

#ifdef SHARPDYN_HAS_OPENMP
#include <omp.h>
#endif

namespace sharpdyn {

constexpr bool has_openmp() {
#ifdef SHARPDYN_HAS_OPENMP
  return true;
#else
  return false;
#endif
}

// requested <= 0 means "OpenMP's default" (OMP_NUM_THREADS or all cores).
inline int resolve_threads(int requested) {
#ifdef SHARPDYN_HAS_OPENMP
  return requested > 0 ? requested : omp_get_max_threads();
#else
  (void)requested;
  return 1;
#endif
}

}  // namespace sharpdyn
