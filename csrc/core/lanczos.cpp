#include "core/lanczos.hpp"

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace sharpdyn::lanczos {

namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Uniform in (0, 1): 53 random bits, never 0.
double uniform_open(std::uint64_t& state) {
  return (static_cast<double>(splitmix64(state) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

}  // namespace

Eigen::VectorXd gaussian_vector(std::int64_t n, std::uint64_t seed) {
  Eigen::VectorXd v(n);
  std::uint64_t state = seed ^ 0x5DEECE66DULL;
  const double two_pi = 6.283185307179586476925286766559;
  for (std::int64_t i = 0; i < n; i += 2) {
    const double u1 = uniform_open(state), u2 = uniform_open(state);
    const double r = std::sqrt(-2.0 * std::log(u1));
    v[i] = r * std::cos(two_pi * u2);
    if (i + 1 < n) v[i + 1] = r * std::sin(two_pi * u2);
  }
  return v;
}

Result top_eigenpairs(const Matvec& matvec, std::int64_t n, int k, int max_iter, double tol,
                      std::uint64_t seed, const Eigen::VectorXd* warm_start, double warm_weight) {
  if (n < 1) throw std::invalid_argument("lanczos: operator size must be >= 1");
  if (k < 1 || k > n) throw std::invalid_argument("lanczos: k must be in [1, n]");
  if (!(tol > 0.0)) throw std::invalid_argument("lanczos: tol must be > 0");
  const int m_max = static_cast<int>(std::min<std::int64_t>(std::max(max_iter, k), n));

  Eigen::VectorXd q = gaussian_vector(n, seed);
  q /= q.norm();
  if (warm_start != nullptr && warm_start->size() == n && warm_weight > 0.0) {
    const double wn = warm_start->norm();
    if (wn > 0.0 && std::isfinite(wn)) {
      q = q + warm_weight * (*warm_start / wn);
      q /= q.norm();
    }
  }

  Eigen::MatrixXd Q(n, m_max);
  std::vector<double> alpha, beta;
  alpha.reserve(m_max);
  beta.reserve(m_max);
  Eigen::VectorXd w(n);
  Result res;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> tri;
  const double tiny = 1e-300;

  auto ritz = [&](int m, double beta_last) {
    Eigen::VectorXd d = Eigen::Map<Eigen::VectorXd>(alpha.data(), m);
    Eigen::VectorXd e(std::max(m - 1, 0));
    for (int i = 0; i + 1 < m; ++i) e[i] = beta[i];
    tri.computeFromTridiagonal(d, e, Eigen::ComputeEigenvectors);
    const int kk = std::min(k, m);
    res.values.resize(kk);
    res.residuals.resize(kk);
    const double norm_est = std::max(std::fabs(tri.eigenvalues()[0]), std::fabs(tri.eigenvalues()[m - 1]));
    bool ok = true;
    for (int i = 0; i < kk; ++i) {
      const int col = m - 1 - i;  // ascending order from the solver
      res.values[i] = tri.eigenvalues()[col];
      res.residuals[i] = std::fabs(beta_last * tri.eigenvectors()(m - 1, col));
      if (!(res.residuals[i] <= tol * std::max(norm_est, tiny))) ok = false;
    }
    return ok && kk == k;
  };

  int m = 0;
  bool done = false;
  for (int j = 0; j < m_max; ++j) {
    Q.col(j) = q;
    matvec(q, w);
    const double a = q.dot(w);
    alpha.push_back(a);
    // Full reorthogonalisation against every previous vector, twice ("twice is enough").
    for (int pass = 0; pass < 2; ++pass) {
      const Eigen::VectorXd coeff = Q.leftCols(j + 1).transpose() * w;
      w.noalias() -= Q.leftCols(j + 1) * coeff;
    }
    const double b = w.norm();
    m = j + 1;
    if (!std::isfinite(a) || !std::isfinite(b)) {
      throw std::runtime_error("lanczos: operator produced a non-finite value");
    }
    const double scale = std::max(std::fabs(a), b);
    const bool invariant = b <= 1e-13 * std::max(scale, tiny) || m == n;
    const bool check = invariant || m == m_max || (m >= k && (m < 24 || m % 4 == 0));
    if (check) {
      if (ritz(m, invariant ? 0.0 : b)) {
        done = true;
        break;
      }
      if (invariant) break;
    }
    beta.push_back(b);
    q = w / b;
  }
  if (!done) ritz(m, beta.size() == static_cast<std::size_t>(m) ? beta.back() : 0.0);
  const int kk = static_cast<int>(res.values.size());
  res.vectors = Q.leftCols(m) * tri.eigenvectors().rightCols(kk).rowwise().reverse();
  res.iterations = m;
  res.converged = done;
  return res;
}

Result top_eigenpairs_dense(const double* a, std::int64_t n, int k, int max_iter, double tol,
                            std::uint64_t seed) {
  using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMat> A(a, n, n);
  // A is symmetric, so A v = A^T v: use the column-major view of the row-major storage.
  Eigen::Map<const Eigen::MatrixXd> At(a, n, n);
  Matvec mv = [&At](const Eigen::VectorXd& in, Eigen::VectorXd& out) { out.noalias() = At * in; };
  (void)A;
  return top_eigenpairs(mv, n, k, max_iter, tol, seed);
}

}  // namespace sharpdyn::lanczos
