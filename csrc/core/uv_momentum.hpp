// The UV model f = gamma * v^T (u x) trained in parameter space by heavy-ball momentum
// (Polyak), batched. With velocity d (zero at the start) and momentum b,
//   d_u <- b d_u + eta * grad_u L,   u <- u - d_u     (and the same for v),
// i.e. theta_{t+1} = theta_t - eta grad L(theta_t) + b (theta_t - theta_{t-1}): torch's
// SGD(momentum=b, dampening=0) with a constant learning rate. At b = 0 each update is
// bit for bit the plain GD update of uv::train (b * d + s == s exactly when b == 0).
// On the quadratic model of a minimum the heavy-ball iteration is linearly stable iff
// eta * lambda < 2 + 2b, the threshold the regime labels of these runs use.
#pragma once

#include <cstdint>

namespace sharpdyn::uv {

// Parameter-space heavy-ball GD on (u, v) for a batch of runs.
//   u0: (batch, n, d) row-major, v0: (batch, n), x: (d), lr and momentum: (batch)
//   records (batch, steps + 1) arrays loss, f, ntk, sharpness (index 0 = initial), the
//   exact sharpness lambda/2 + sqrt(lambda^2/4 + kappa df (3f - y)) of the current point.
// Divergence as in uv::train: a run whose |f - y| leaves divergence_bound(f0, y) (or whose
// NTK is not finite) stops; later entries are NaN, diverged[b] = 1, diverged_at[b] = step.
// u_final, v_final: the weights after the last step (or at divergence).
void train_momentum(const double* u0, const double* v0, const double* x, const double* lr,
                    const double* momentum, double y, double gamma, std::int64_t batch,
                    std::int64_t n, std::int64_t d, std::int64_t steps, double* loss, double* f,
                    double* ntk, double* sharp, std::uint8_t* diverged, std::int64_t* diverged_at,
                    double* u_final, double* v_final, int threads);

}  // namespace sharpdyn::uv
