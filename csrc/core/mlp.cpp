#include "core/mlp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/lanczos.hpp"
#include "core/parallel.hpp"

namespace sharpdyn::mlp {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using ConstRowMap = Eigen::Map<const RowMat>;
using RowMap = Eigen::Map<RowMat>;

namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440084436210485;
constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438;

// Examples per chunk of the dense Hessian sum: bounds the per-example intermediates
// (B, C, E and the GEMM operand) to O(kHessianChunk * width^2 + P_layer * kHessianChunk).
constexpr std::int64_t kHessianChunk = 512;

// phi, phi', phi'' elementwise.
void activate(Activation act, const MatrixXd& z, MatrixXd& h, MatrixXd& d1, MatrixXd& d2) {
  h.resize(z.rows(), z.cols());
  d1.resize(z.rows(), z.cols());
  d2.resize(z.rows(), z.cols());
  const Eigen::Index n = z.size();
  const double* zp = z.data();
  double *hp = h.data(), *p1 = d1.data(), *p2 = d2.data();
  switch (act) {
    case Activation::Linear:
      for (Eigen::Index i = 0; i < n; ++i) { hp[i] = zp[i]; p1[i] = 1.0; p2[i] = 0.0; }
      break;
    case Activation::Tanh:
      for (Eigen::Index i = 0; i < n; ++i) {
        const double t = std::tanh(zp[i]);
        const double s = 1.0 - t * t;
        hp[i] = t; p1[i] = s; p2[i] = -2.0 * t * s;
      }
      break;
    case Activation::Relu:
      // phi'(0) = 0 (PyTorch's convention); phi'' = 0 almost everywhere.
      for (Eigen::Index i = 0; i < n; ++i) {
        const bool pos = zp[i] > 0.0;
        hp[i] = pos ? zp[i] : 0.0; p1[i] = pos ? 1.0 : 0.0; p2[i] = 0.0;
      }
      break;
    case Activation::Gelu:
      // Exact GELU: phi = z Phi(z), phi' = Phi(z) + z pdf(z), phi'' = pdf(z) (2 - z^2).
      for (Eigen::Index i = 0; i < n; ++i) {
        const double x = zp[i];
        const double cdf = 0.5 * (1.0 + std::erf(x * kInvSqrt2));
        const double pdf = kInvSqrt2Pi * std::exp(-0.5 * x * x);
        hp[i] = x * cdf; p1[i] = cdf + x * pdf; p2[i] = pdf * (2.0 - x * x);
      }
      break;
  }
}

ConstRowMap weight(const Network& net, const double* params, int a) {
  return ConstRowMap(params + net.weight_offset[a], net.widths[a + 1], net.widths[a]);
}

// Everything the derivatives need at one parameter point.
struct State {
  std::vector<MatrixXd> h;       // h[a], a = 0..L-1: N x n_a (h[0] = X)
  std::vector<MatrixXd> z;       // z[c], c = 1..L: N x n_c
  std::vector<MatrixXd> d1, d2;  // phi', phi'' at z[c], c = 1..L-1
  std::vector<MatrixXd> delta;   // dL/dz_c, c = 1..L
  std::vector<MatrixXd> q;       // m_c delta_{c+1} W_c, c = 1..L-1 (so delta_c = d1 .* q)
  MatrixXd probs;                // CE: softmax(f), N x d_out
  VectorXd ysum;                 // CE: sum_k y_nk
  double loss = 0.0;
};

void forward_pass(const Network& net, const double* params, const double* X, std::int64_t N,
                  State& s) {
  const int L = net.layers();
  s.h.assign(L, MatrixXd());
  s.z.assign(L + 1, MatrixXd());
  s.d1.assign(L, MatrixXd());
  s.d2.assign(L, MatrixXd());
  s.h[0] = ConstRowMap(X, N, net.d_in());
  for (int a = 0; a < L; ++a) {
    MatrixXd& z = s.z[a + 1];
    z.noalias() = s.h[a] * weight(net, params, a).transpose();
    z *= net.multipliers[a];
    if (net.bias) {
      z.rowwise() += Eigen::Map<const VectorXd>(params + net.bias_offset[a], net.widths[a + 1]).transpose();
    }
    if (a + 1 < L) activate(net.activation, z, s.h[a + 1], s.d1[a + 1], s.d2[a + 1]);
  }
}

// Loss and dL/df into s.delta[L].
void loss_pass(const Network& net, const double* Y, std::int64_t N, State& s) {
  const int L = net.layers();
  const MatrixXd& F = s.z[L];
  const MatrixXd Yv = ConstRowMap(Y, N, net.d_out());
  const double invN = 1.0 / static_cast<double>(N);
  if (net.loss == Loss::MSE) {
    MatrixXd r = F - Yv;
    s.loss = 0.5 * invN * r.squaredNorm();
    s.delta[L] = r * invN;
  } else {
    s.probs.resize(N, net.d_out());
    s.ysum = Yv.rowwise().sum();
    double total = 0.0;
    for (std::int64_t n = 0; n < N; ++n) {
      const double mx = F.row(n).maxCoeff();
      const double lse = mx + std::log((F.row(n).array() - mx).exp().sum());
      s.probs.row(n) = (F.row(n).array() - lse).exp().matrix();
      total += s.ysum[n] * lse - Yv.row(n).dot(F.row(n));
    }
    s.loss = total * invN;
    s.delta[L] = (s.probs.array().colwise() * s.ysum.array() - Yv.array()).matrix() * invN;
  }
}

void backward_pass(const Network& net, const double* params, State& s) {
  const int L = net.layers();
  s.q.assign(L, MatrixXd());
  for (int c = L - 1; c >= 1; --c) {
    s.q[c].noalias() = s.delta[c + 1] * weight(net, params, c);
    s.q[c] *= net.multipliers[c];
    s.delta[c] = s.d1[c].cwiseProduct(s.q[c]);
  }
}

void evaluate(const Network& net, const double* params, const double* X, const double* Y,
              std::int64_t N, bool backward, State& s) {
  forward_pass(net, params, X, N, s);
  s.delta.assign(net.layers() + 1, MatrixXd());
  loss_pass(net, Y, N, s);
  if (backward) backward_pass(net, params, s);
}

void gradient_from_state(const Network& net, const State& s, double* grad) {
  for (int a = 0; a < net.layers(); ++a) {
    RowMap g(grad + net.weight_offset[a], net.widths[a + 1], net.widths[a]);
    g.noalias() = s.delta[a + 1].transpose() * s.h[a];
    g *= net.multipliers[a];
    if (net.bias) {
      Eigen::Map<VectorXd>(grad + net.bias_offset[a], net.widths[a + 1]) =
          s.delta[a + 1].colwise().sum().transpose();
    }
  }
}

// Loss Hessian (in f) applied to the rows of R.
MatrixXd loss_hessian_apply(const Network& net, const State& s, const MatrixXd& R) {
  const double invN = 1.0 / static_cast<double>(R.rows());
  if (net.loss == Loss::MSE) return R * invN;
  const VectorXd pr = s.probs.cwiseProduct(R).rowwise().sum();
  MatrixXd out = s.probs.cwiseProduct(R - pr.replicate(1, R.cols()));
  return (out.array().colwise() * (s.ysum.array() * invN)).matrix();
}

// H v at the state s (forward and backward already done).
void hvp_from_state(const Network& net, const double* params, const State& s, const double* v,
                    double* out) {
  const int L = net.layers();
  std::vector<MatrixXd> Rz(L + 1), Rh(L);
  for (int a = 0; a < L; ++a) {
    const ConstRowMap V = weight(net, v, a);
    MatrixXd& rz = Rz[a + 1];
    rz.noalias() = s.h[a] * V.transpose();
    if (a > 0) rz.noalias() += Rh[a] * weight(net, params, a).transpose();
    rz *= net.multipliers[a];
    if (net.bias) {
      rz.rowwise() += Eigen::Map<const VectorXd>(v + net.bias_offset[a], net.widths[a + 1]).transpose();
    }
    if (a + 1 < L) Rh[a + 1] = s.d1[a + 1].cwiseProduct(rz);
  }
  MatrixXd Rdelta = loss_hessian_apply(net, s, Rz[L]);
  for (int a = L - 1; a >= 0; --a) {
    const double m = net.multipliers[a];
    RowMap g(out + net.weight_offset[a], net.widths[a + 1], net.widths[a]);
    g.noalias() = Rdelta.transpose() * s.h[a];
    if (a > 0) g.noalias() += s.delta[a + 1].transpose() * Rh[a];
    g *= m;
    if (net.bias) {
      Eigen::Map<VectorXd>(out + net.bias_offset[a], net.widths[a + 1]) = Rdelta.colwise().sum().transpose();
    }
    if (a > 0) {
      MatrixXd Rq;
      Rq.noalias() = Rdelta * weight(net, params, a);
      Rq.noalias() += s.delta[a + 1] * weight(net, v, a);
      Rq *= m;
      Rdelta = s.d2[a].cwiseProduct(Rz[a]).cwiseProduct(s.q[a]) + s.d1[a].cwiseProduct(Rq);
    }
  }
}

}  // namespace

Network make_network(const std::vector<std::int64_t>& widths, Activation activation, bool bias,
                     const std::vector<double>& multipliers, Loss loss) {
  if (widths.size() < 2) throw std::invalid_argument("widths: need at least [d_in, d_out]");
  for (std::size_t i = 0; i < widths.size(); ++i) {
    if (widths[i] <= 0) {
      throw std::invalid_argument("widths: every width must be > 0 (widths[" + std::to_string(i) +
                                  "] = " + std::to_string(widths[i]) + ")");
    }
  }
  const int act = static_cast<int>(activation);
  if (act < 0 || act > 3) throw std::invalid_argument("activation: unknown code");
  if (loss != Loss::MSE && loss != Loss::CrossEntropy) throw std::invalid_argument("loss: unknown code");
  if (multipliers.size() != widths.size() - 1) {
    throw std::invalid_argument("multipliers: need one per weight layer");
  }
  for (double m : multipliers) {
    if (!std::isfinite(m)) throw std::invalid_argument("multipliers: must be finite");
  }
  Network net;
  net.widths = widths;
  net.activation = activation;
  net.bias = bias;
  net.multipliers = multipliers;
  net.loss = loss;
  std::int64_t off = 0;
  for (int a = 0; a < net.layers(); ++a) {
    net.weight_offset.push_back(off);
    off += widths[a + 1] * widths[a];
    net.bias_offset.push_back(off);
    if (bias) off += widths[a + 1];
  }
  net.num_params = off;
  return net;
}

void forward(const Network& net, const double* params, const double* X, std::int64_t N,
             double* out) {
  State s;
  forward_pass(net, params, X, N, s);
  RowMap(out, N, net.d_out()) = s.z[net.layers()];
}

double loss_and_gradient(const Network& net, const double* params, const double* X,
                         const double* Y, std::int64_t N, double* grad) {
  State s;
  evaluate(net, params, X, Y, N, grad != nullptr, s);
  if (grad != nullptr) gradient_from_state(net, s, grad);
  return s.loss;
}

void hvp(const Network& net, const double* params, const double* X, const double* Y,
         std::int64_t N, const double* v, double* out) {
  State s;
  evaluate(net, params, X, Y, N, true, s);
  hvp_from_state(net, params, s, v, out);
}

void hessian(const Network& net, const double* params, const double* X, const double* Y,
             std::int64_t N, bool gauss_newton, double* out, int threads) {
  State s;
  evaluate(net, params, X, Y, N, true, s);
  const int L = net.layers();
  const std::int64_t P = net.num_params;
  const int extra = net.bias ? 1 : 0;
  const auto& w = net.widths;
  // Augmented layout: layer a is a row-major n_{a+1} x (n_a + extra) block at aoff[a].
  std::vector<std::int64_t> nh(L), aoff(L + 1, 0);
  for (int a = 0; a < L; ++a) {
    nh[a] = w[a] + extra;
    aoff[a + 1] = aoff[a] + w[a + 1] * nh[a];
  }
  std::vector<MatrixXd> hh(L);  // N x nh[a]: [m_a h_a, 1]
  for (int a = 0; a < L; ++a) {
    hh[a].resize(N, nh[a]);
    hh[a].leftCols(w[a]) = s.h[a] * net.multipliers[a];
    if (net.bias) hh[a].col(w[a]).setOnes();
  }
  const bool permute = net.bias;
  RowMat aug;
  double* target = out;
  if (permute) {
    aug.resize(P, P);
    target = aug.data();
  }
  RowMap H(target, P, P);
  const int nthreads = resolve_threads(threads);
  const double invN = 1.0 / static_cast<double>(N);

  // Examples are processed in fixed chunks (bounded memory); chunk sums accumulate in H.
  for (std::int64_t n0 = 0; n0 < N; n0 += kHessianChunk) {
    const std::int64_t cn = std::min<std::int64_t>(kHessianChunk, N - n0);
    const bool first = n0 == 0;
    // Pre-activation Hessians B[c][n], c = 1..L, for the chunk's examples.
    std::vector<std::vector<MatrixXd>> B(L + 1, std::vector<MatrixXd>(cn));
    for (std::int64_t n = 0; n < cn; ++n) {
      if (net.loss == Loss::MSE) {
        B[L][n] = MatrixXd::Identity(w[L], w[L]) * invN;
      } else {
        const VectorXd p = s.probs.row(n0 + n).transpose();
        MatrixXd hl = -p * p.transpose();
        hl.diagonal() += p;
        B[L][n] = hl * (s.ysum[n0 + n] * invN);
      }
    }
    for (int c = L - 1; c >= 1; --c) {
      const MatrixXd M = weight(net, params, c) * net.multipliers[c];  // n_{c+1} x n_c
      for (std::int64_t n = 0; n < cn; ++n) {
        const VectorXd d = s.d1[c].row(n0 + n).transpose();
        MatrixXd t = M.transpose() * B[c + 1][n] * M;
        t = d.asDiagonal() * t * d.asDiagonal();
        if (!gauss_newton) {
          t.diagonal() += s.d2[c].row(n0 + n).transpose().cwiseProduct(s.q[c].row(n0 + n).transpose());
        }
        B[c][n] = std::move(t);
      }
    }

    for (int b = 0; b < L; ++b) {
      const std::int64_t nk = w[b + 1];
      const auto hb = hh[b].middleRows(n0, cn);
      std::vector<MatrixXd> Jh(cn);  // dh_a / dz_{b+1}, n_a x n_{b+1}
      for (int a = b; a < L; ++a) {
        const std::int64_t ni = w[a + 1], nj = nh[a], na = w[a];
        std::vector<MatrixXd> C(cn), E;
        if (a == b) {
          for (std::int64_t n = 0; n < cn; ++n) C[n] = B[a + 1][n];
        } else {
          E.resize(cn);
          const MatrixXd Wa = weight(net, params, a);
          for (std::int64_t n = 0; n < cn; ++n) {
            if (a == b + 1) {
              Jh[n] = s.d1[a].row(n0 + n).transpose().asDiagonal();
            } else {
              const MatrixXd Wprev = weight(net, params, a - 1) * net.multipliers[a - 1];
              MatrixXd t = Wprev * Jh[n];
              Jh[n] = s.d1[a].row(n0 + n).transpose().asDiagonal() * t;
            }
            E[n] = Jh[n] * net.multipliers[a];
            C[n] = B[a + 1][n] * (Wa * E[n]);
          }
        }
        const bool second = !gauss_newton && a > b;
        const bool diagonal = a == b;
#ifdef SHARPDYN_HAS_OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
        {
          MatrixXd A(ni * nj, cn);
#ifdef SHARPDYN_HAS_OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
          for (std::int64_t k = 0; k < nk; ++k) {
            // In a diagonal block only units i >= k are computed; the rest is mirrored.
            const std::int64_t i0 = diagonal ? k : 0;
            const std::int64_t rows = (ni - i0) * nj;
            for (std::int64_t n = 0; n < cn; ++n) {
              Eigen::Map<MatrixXd> col(A.col(n).data(), nj, ni - i0);  // (j, i - i0)
              col.noalias() = hh[a].row(n0 + n).transpose() * C[n].col(k).tail(ni - i0).transpose();
              if (second) {
                col.topRows(na).noalias() += E[n].col(k) * s.delta[a + 1].row(n0 + n);
              }
            }
            auto dst = H.block(aoff[a] + i0 * nj, aoff[b] + k * nh[b], rows, nh[b]);
            if (first) {
              dst.noalias() = A.topRows(rows) * hb;
            } else {
              dst.noalias() += A.topRows(rows) * hb;
            }
          }
        }
      }
    }
  }
  // Diagonal blocks: mirror the unit blocks above the diagonal, exactly symmetric.
  for (int a = 0; a < L; ++a) {
    const std::int64_t ni = w[a + 1], nj = nh[a];
    for (std::int64_t k = 0; k < ni; ++k) {
      const std::int64_t base = aoff[a] + k * nj;
      for (std::int64_t r = 0; r < nj; ++r) {
        for (std::int64_t c = r + 1; c < nj; ++c) H(base + r, base + c) = H(base + c, base + r);
      }
      for (std::int64_t i = 0; i < k; ++i) {
        H.block(aoff[a] + i * nj, aoff[a] + k * nj, nj, nj) =
            H.block(aoff[a] + k * nj, aoff[a] + i * nj, nj, nj).transpose();
      }
    }
  }
  (void)nthreads;
  // Mirror the blocks below the diagonal.
  for (int a = 0; a < L; ++a) {
    for (int b = 0; b < a; ++b) {
      H.block(aoff[b], aoff[a], aoff[b + 1] - aoff[b], aoff[a + 1] - aoff[a]) =
          H.block(aoff[a], aoff[b], aoff[a + 1] - aoff[a], aoff[b + 1] - aoff[b]).transpose();
    }
  }
  if (!permute) return;
  // Augmented index -> PyTorch layout.
  std::vector<std::int64_t> perm(P);
  for (int a = 0; a < L; ++a) {
    for (std::int64_t i = 0; i < w[a + 1]; ++i) {
      for (std::int64_t j = 0; j < nh[a]; ++j) {
        perm[aoff[a] + i * nh[a] + j] =
            j < w[a] ? net.weight_offset[a] + i * w[a] + j : net.bias_offset[a] + i;
      }
    }
  }
  for (std::int64_t r = 0; r < P; ++r) {
    double* dst = out + perm[r] * P;
    const double* src = aug.data() + r * P;
    for (std::int64_t c = 0; c < P; ++c) dst[perm[c]] = src[c];
  }
}

void jacobian(const Network& net, const double* params, const double* X, std::int64_t N,
              double* out) {
  State s;
  forward_pass(net, params, X, N, s);
  const int L = net.layers();
  const std::int64_t P = net.num_params, dout = net.d_out();
  RowMap J(out, N * dout, P);
  for (std::int64_t n = 0; n < N; ++n) {
    MatrixXd G = MatrixXd::Identity(dout, dout);  // df / dz_{a+1}
    for (int a = L - 1; a >= 0; --a) {
      const double m = net.multipliers[a];
      for (std::int64_t o = 0; o < dout; ++o) {
        RowMap Jw(J.row(n * dout + o).data() + net.weight_offset[a], net.widths[a + 1], net.widths[a]);
        Jw.noalias() = G.row(o).transpose() * (s.h[a].row(n) * m);
        if (net.bias) {
          Eigen::Map<VectorXd>(J.row(n * dout + o).data() + net.bias_offset[a], net.widths[a + 1]) =
              G.row(o).transpose();
        }
      }
      if (a > 0) {
        MatrixXd t = G * weight(net, params, a) * m;
        G = t * s.d1[a].row(n).transpose().asDiagonal();
      }
    }
  }
}

namespace {

// Thrown out of an eigensolve when a stop is requested (not a std::exception: nothing else
// catches it on the way).
struct Interrupted {};

double top_sharpness(const Network& net, const double* params, const State& s, int max_iter,
                     double tol, std::uint64_t seed, VectorXd& warm, Interrupt& stop) {
  const std::int64_t P = net.num_params;
  lanczos::Matvec mv = [&](const VectorXd& in, VectorXd& o) {
    if (stop.check()) throw Interrupted{};
    o.resize(P);
    hvp_from_state(net, params, s, in.data(), o.data());
  };
  const bool have_warm = warm.size() == P;
  lanczos::Result r = lanczos::top_eigenpairs(mv, P, 1, max_iter, tol, seed,
                                              have_warm ? &warm : nullptr, 1.0);
  warm = r.vectors.col(0);
  return r.values[0];
}

}  // namespace

int top_eigenvalues_hvp(const Network& net, const double* params, const double* X,
                        const double* Y, std::int64_t N, int k, int max_iter, double tol,
                        std::uint64_t seed, double* values) {
  State s;
  evaluate(net, params, X, Y, N, true, s);
  const std::int64_t P = net.num_params;
  lanczos::Matvec mv = [&](const VectorXd& in, VectorXd& o) {
    o.resize(P);
    hvp_from_state(net, params, s, in.data(), o.data());
  };
  lanczos::Result r = lanczos::top_eigenpairs(mv, P, k, max_iter, tol, seed);
  for (int i = 0; i < k; ++i) values[i] = r.values[i];
  return r.iterations;
}

void train(const std::vector<Network>& networks, const std::vector<Run>& runs,
           const std::vector<RunOutput>& outputs, const double* X, const double* Y,
           std::int64_t N, const TrainConfig& cfg, int threads, Interrupt& stop) {
  if (runs.size() != outputs.size()) throw std::invalid_argument("train: runs/outputs size mismatch");
  const std::int64_t R = static_cast<std::int64_t>(runs.size());
  const std::int64_t T = cfg.steps;
  const std::int64_t k = cfg.sharpness_every;
  if (T < 0 || k < 1) throw std::invalid_argument("train: steps >= 0 and sharpness_every >= 1");
  if (!(cfg.momentum >= 0.0 && cfg.momentum < 1.0)) {
    throw std::invalid_argument("momentum: must be in [0, 1), got " + std::to_string(cfg.momentum));
  }
  // b = 0 without Nesterov takes the plain update (bit for bit the GD/SGD of old); b = 0 with
  // Nesterov is the same update in exact arithmetic and is also routed there.
  const bool heavy_ball = cfg.momentum > 0.0;
  const std::int64_t M = T / k + 1;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::string> errors(R);
  TeamLatch latch(stop);

#pragma omp parallel num_threads(resolve_threads(threads))
  {
#pragma omp for schedule(dynamic, 1) nowait
  for (std::int64_t r = 0; r < R; ++r) {
    try {
      const Run& run = runs[r];
      const RunOutput& o = outputs[r];
      const Network& net = networks[run.network];
      const std::int64_t P = net.num_params;
      const std::int64_t din = net.d_in(), dout = net.d_out();
      VectorXd theta = Eigen::Map<const VectorXd>(run.init, P);
      VectorXd grad(P), warm;
      VectorXd velocity = heavy_ball ? VectorXd::Zero(P) : VectorXd();
      std::fill(o.loss, o.loss + T + 1, nan);
      std::fill(o.sharpness, o.sharpness + M, nan);
      *o.diverged = 0;
      *o.diverged_at = -1;
      if (o.interrupted_at != nullptr) *o.interrupted_at = -1;
      const bool sgd = cfg.batch_size > 0;
      RowMat Xb, Yb;
      if (sgd) {
        Xb.resize(cfg.batch_size, din);
        Yb.resize(cfg.batch_size, dout);
      }
      double bound = std::numeric_limits<double>::infinity();
      State s;
      // Stops the run at step t (entries from t on NaN); the remaining steps count as done.
      const auto interrupt_at = [&](std::int64_t t) {
        o.loss[t] = nan;
        if (o.interrupted_at != nullptr) *o.interrupted_at = t;
      };
      const auto diverge_at = [&](std::int64_t t, std::int64_t step) {
        *o.diverged = 1;
        *o.diverged_at = step;
        stop.add_progress(T - t);
      };
      for (std::int64_t t = 0; t <= T; ++t) {
        if (stop.check()) {
          interrupt_at(t);
          break;
        }
        const bool sample = t % k == 0;
        evaluate(net, theta.data(), X, Y, N, !sgd || sample, s);
        const double lt = s.loss;
        if (t == 0 && std::isfinite(lt)) bound = cfg.divergence_factor * (std::fabs(lt) + 1.0);
        if (!std::isfinite(lt) || !(lt <= bound)) {
          diverge_at(t, t);
          break;
        }
        o.loss[t] = lt;
        if (sample) {
          double sh;
          try {
            sh = top_sharpness(net, theta.data(), s, cfg.lanczos_max_iter, cfg.lanczos_tol,
                               run.seed * 1000003ULL + static_cast<std::uint64_t>(t), warm, stop);
          } catch (const std::runtime_error&) {  // non-finite curvature: overflow
            sh = nan;
          } catch (const Interrupted&) {
            interrupt_at(t);
            break;
          }
          if (!std::isfinite(sh)) {
            o.loss[t] = nan;
            diverge_at(t, t);
            break;
          }
          o.sharpness[t / k] = sh;
        }
        if (t == T) break;
        if (!sgd) {
          gradient_from_state(net, s, grad.data());
        } else {
          const std::int64_t* idx = run.order + t * cfg.batch_size;
          for (std::int64_t i = 0; i < cfg.batch_size; ++i) {
            Xb.row(i) = ConstRowMap(X, N, din).row(idx[i]);
            Yb.row(i) = ConstRowMap(Y, N, dout).row(idx[i]);
          }
          State sb;
          evaluate(net, theta.data(), Xb.data(), Yb.data(), cfg.batch_size, true, sb);
          gradient_from_state(net, sb, grad.data());
        }
        if (!grad.allFinite()) {
          diverge_at(t, t + 1);
          break;
        }
        if (!heavy_ball) {
          theta.noalias() -= run.lr * grad;
        } else {
          velocity = cfg.momentum * velocity + grad;  // first step: exactly grad
          if (cfg.nesterov) {
            theta.noalias() -= run.lr * (grad + cfg.momentum * velocity);
          } else {
            theta.noalias() -= run.lr * velocity;
          }
        }
        stop.add_progress(1);
      }
      Eigen::Map<VectorXd>(o.params, P) = theta;
    } catch (const std::exception& e) {
      errors[r] = e.what();
    }
  }
  latch.arrive();
  }
  for (std::int64_t r = 0; r < R; ++r) {
    if (!errors[r].empty()) throw std::runtime_error("train: run " + std::to_string(r) + ": " + errors[r]);
  }
}

}  // namespace sharpdyn::mlp
