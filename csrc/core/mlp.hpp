// Small multilayer perceptrons with exact first and second derivatives.
//
// Network (widths n_0 = d_in, n_1, ..., n_L = d_out; weight layers a = 0..L-1):
//   h_0 = x,  z_{a+1} = m_a W_a h_a + b_a,  h_{a+1} = phi(z_{a+1}) (hidden),  f = z_L.
// W_a is n_{a+1} x n_a, m_a a fixed multiplier (it carries the parameterization; see
// python/sharpdyn/mlp.py), b_a an optional bias. Parameters are laid out flat in
// PyTorch's order: W_0 (row-major, as nn.Linear.weight), b_0, W_1, b_1, ...
//
// Losses over N examples (rows of X, Y):
//   MSE: L = (1/2N) sum_n ||f_n - y_n||^2
//   CE:  L = (1/N) sum_n [ (sum_k y_nk) logsumexp(f_n) - y_n . f_n ]  (y_n class probabilities)
//
// Hessian. For b <= a, entry ((a,i,j), (b,k,l)) of the Hessian with respect to the
// augmented weights [W_a | b_a] (augmented input hh_a = [m_a h_a, 1]) is
//   sum_n hh_b[l] ( (B_{a+1} dz_{a+1}/dz_{b+1})_{ik} hh_a[j]
//                   + [b < a] delta_{a+1,i} m_a (dh_a/dz_{b+1})_{jk} [j is not the bias] )
// where delta_c = dL/dz_c (backprop) and B_c = d^2 L / dz_c^2 (pre-activation Hessian):
//   B_L = Hessian of the loss in f,
//   B_c = D_c (m_c W_c)^T B_{c+1} (m_c W_c) D_c + diag(phi''(z_c) * (m_c W_c^T delta_{c+1})),
//   D_c = diag(phi'(z_c)). Dropping the diag term and the delta term gives the
// Gauss-Newton matrix sum_n J_n^T H_loss J_n exactly. Each layer pair is assembled as
// matrix products over the examples (no finite differences, no per-direction passes).
#pragma once

#include <Eigen/Dense>

#include <cstdint>
#include <string>
#include <vector>

#include "core/interrupt.hpp"

namespace sharpdyn::mlp {

enum class Activation : int { Linear = 0, Tanh = 1, Relu = 2, Gelu = 3 };
enum class Loss : int { MSE = 0, CrossEntropy = 1 };

using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Network {
  std::vector<std::int64_t> widths;  // n_0 .. n_L
  Activation activation = Activation::Tanh;
  bool bias = true;
  std::vector<double> multipliers;  // m_a, one per weight layer
  Loss loss = Loss::MSE;
  // Derived (filled by make_network).
  std::vector<std::int64_t> weight_offset, bias_offset;
  std::int64_t num_params = 0;

  int layers() const { return static_cast<int>(widths.size()) - 1; }
  std::int64_t d_in() const { return widths.front(); }
  std::int64_t d_out() const { return widths.back(); }
};

// Validates (throws std::invalid_argument) and fills the derived fields.
Network make_network(const std::vector<std::int64_t>& widths, Activation activation, bool bias,
                     const std::vector<double>& multipliers, Loss loss);

// Network outputs f for N inputs: out is N x d_out, row-major.
void forward(const Network& net, const double* params, const double* X, std::int64_t N,
             double* out);

// Loss; if grad != nullptr also its gradient (length num_params).
double loss_and_gradient(const Network& net, const double* params, const double* X,
                         const double* Y, std::int64_t N, double* grad);

// Hessian-vector product H v (exact, Pearlmutter's R-operator).
void hvp(const Network& net, const double* params, const double* X, const double* Y,
         std::int64_t N, const double* v, double* out);

// Dense P x P Hessian (row-major) of the loss, or the Gauss-Newton matrix.
void hessian(const Network& net, const double* params, const double* X, const double* Y,
             std::int64_t N, bool gauss_newton, double* out, int threads);

// Jacobian of the outputs: (N * d_out) x P, row-major, row n * d_out + o.
void jacobian(const Network& net, const double* params, const double* X, std::int64_t N,
              double* out);

// Top-k Hessian eigenvalues by Lanczos on exact HVPs (descending). Returns iterations.
int top_eigenvalues_hvp(const Network& net, const double* params, const double* X,
                        const double* Y, std::int64_t N, int k, int max_iter, double tol,
                        std::uint64_t seed, double* values);

// ---------------------------------------------------------------- batched training

struct TrainConfig {
  std::int64_t steps = 0;
  std::int64_t sharpness_every = 1;  // sample the sharpness at t = 0, k, 2k, ...
  std::int64_t batch_size = 0;       // 0: full-batch GD
  int lanczos_max_iter = 100;
  double lanczos_tol = 1e-7;
  double divergence_factor = 1e12;   // diverged once L_t > factor * (L_0 + 1), or not finite
  // Heavy-ball momentum b in [0, 1), torch.optim.SGD's convention (dampening 0, zero initial
  // velocity v): v <- b v + g; theta <- theta - lr v, or with nesterov
  // theta <- theta - lr (g + b v). momentum = 0 (and nesterov false) is the plain update
  // theta <- theta - lr g, computed by the same code as without momentum.
  double momentum = 0.0;
  bool nesterov = false;
};

struct Run {
  int network = 0;                     // index into the networks vector
  const double* init = nullptr;        // initial parameters (num_params of its network)
  double lr = 0.0;
  const std::int64_t* order = nullptr;  // steps * batch_size example indices (SGD only)
  std::uint64_t seed = 0;              // Lanczos start vectors
};

struct RunOutput {
  double* loss = nullptr;        // steps + 1 (full-batch loss before each update)
  double* sharpness = nullptr;   // steps / sharpness_every + 1
  double* params = nullptr;      // final parameters (num_params)
  std::uint8_t* diverged = nullptr;
  std::int64_t* diverged_at = nullptr;
  std::int64_t* interrupted_at = nullptr;  // optional (see train)
};

// Runs are independent and each is single-threaded: results do not depend on `threads`.
// Throws std::invalid_argument for momentum outside [0, 1) (or NaN).
// A run whose loss is out of bounds at step t stops there: diverged = 1,
// diverged_at = t, loss[t..] and later sharpness samples are NaN, params are the last
// finite ones. Otherwise diverged_at = -1.
//
// Interrupts: `stop` is checked before every step and every Hessian-vector product of the
// sharpness eigensolves (interrupt.hpp). Once a stop is requested every run stops at its next
// check, at step t say: interrupted_at = t (-1 for a run that finished, 0 for one that never
// started), the entries of steps < t are kept, loss[t..] and the sharpness samples from t on
// are NaN, and params are those after t updates (loss[t] would have been their loss).
// stop.add_progress counts finished updates (a diverged run adds the steps it skips), so a
// finished call has added runs x steps.
void train(const std::vector<Network>& networks, const std::vector<Run>& runs,
           const std::vector<RunOutput>& outputs, const double* X, const double* Y,
           std::int64_t N, const TrainConfig& config, int threads,
           Interrupt& stop = never_interrupted());

}  // namespace sharpdyn::mlp
