// Lanczos iteration with full reorthogonalisation for the largest (algebraic)
// eigenvalues of a real symmetric operator, given as a matrix-vector product.
//
// Stopping rule: after iteration j the Ritz pair (theta_i, Q s_i) has residual
// ||A Q s_i - theta_i Q s_i|| = beta_j |s_i[j]|; the run stops when this is at most
// tol * max_i |theta_i| (an estimate of ||A||) for each of the k wanted pairs (then each
// theta_i lies within that residual of an eigenvalue of A), when the Krylov space is
// invariant (beta_j ~ 0), or after max_iter iterations. The start vector is a seeded Gaussian (splitmix64 +
// Box-Muller), optionally mixed with a caller-supplied warm start.
#pragma once

#include <Eigen/Dense>

#include <cstdint>
#include <functional>

namespace sharpdyn::lanczos {

using Matvec = std::function<void(const Eigen::VectorXd& in, Eigen::VectorXd& out)>;

struct Result {
  Eigen::VectorXd values;   // k largest Ritz values, descending
  Eigen::MatrixXd vectors;  // n x k Ritz vectors (unit norm), matching values
  Eigen::VectorXd residuals;  // residual norm of each pair
  int iterations = 0;
  bool converged = false;
};

// Seeded standard normal vector of length n (deterministic for a given seed).
Eigen::VectorXd gaussian_vector(std::int64_t n, std::uint64_t seed);

// k >= 1, n >= 1, max_iter clipped to [k, n]. warm_start (if non-null and of length n)
// is added to the random start vector with weight warm_weight relative to the random
// part (both normalised first).
Result top_eigenpairs(const Matvec& matvec, std::int64_t n, int k, int max_iter, double tol,
                      std::uint64_t seed, const Eigen::VectorXd* warm_start = nullptr,
                      double warm_weight = 0.0);

// Convenience: a dense symmetric matrix (row-major n x n, only symmetry is assumed).
Result top_eigenpairs_dense(const double* a, std::int64_t n, int k, int max_iter, double tol,
                            std::uint64_t seed);

}  // namespace sharpdyn::lanczos
