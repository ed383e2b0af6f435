#include <pybind11/stl.h>

#include <cstdint>
#include <vector>

#include "bindings/arrays.hpp"
#include "bindings/interrupt.hpp"
#include "bindings/registry.hpp"
#include "core/lanczos.hpp"
#include "core/mlp.hpp"

namespace sharpdyn::bindings {

namespace {

using sharpdyn::mlp::Network;

Network network_from(const std::vector<std::int64_t>& widths, int activation, bool bias,
                     const std::vector<double>& multipliers, int loss) {
  if (activation < 0 || activation > 3) throw std::invalid_argument("activation: unknown code");
  if (loss < 0 || loss > 1) throw std::invalid_argument("loss: unknown code");
  return mlp::make_network(widths, static_cast<mlp::Activation>(activation), bias, multipliers,
                           static_cast<mlp::Loss>(loss));
}

void require_matrix(const darray& a, py::ssize_t rows, py::ssize_t cols, const char* name) {
  if (a.ndim() != 2 || a.shape(0) != rows || a.shape(1) != cols) {
    throw std::invalid_argument(std::string(name) + ": expected shape (" + std::to_string(rows) +
                                ", " + std::to_string(cols) + ")");
  }
}

// Checks params/X/Y against the network; returns N.
py::ssize_t check_data(const Network& net, const darray& params, const darray& X, const darray* Y) {
  require_size(params, net.num_params, "params");
  if (X.ndim() != 2 || X.shape(1) != net.d_in()) throw std::invalid_argument("X: expected shape (N, d_in)");
  const py::ssize_t N = X.shape(0);
  if (N < 1) throw std::invalid_argument("X: need at least one example");
  if (Y != nullptr) require_matrix(*Y, N, net.d_out(), "Y");
  return N;
}

#define SHARPDYN_NET_ARGS                                                                   \
  py::arg("widths"), py::arg("activation"), py::arg("bias"), py::arg("multipliers"), \
      py::arg("loss")

}  // namespace

void register_mlp(py::module_& m) {
  using VecI = std::vector<std::int64_t>;
  using VecD = std::vector<double>;

  m.def(
      "mlp_num_params",
      [](const VecI& w, int act, bool bias, const VecD& mult, int loss) {
        return network_from(w, act, bias, mult, loss).num_params;
      },
      SHARPDYN_NET_ARGS, "Number of parameters of the network.");

  m.def(
      "mlp_forward",
      [](const VecI& w, int act, bool bias, const VecD& mult, int loss, const darray& params,
         const darray& X) {
        const Network net = network_from(w, act, bias, mult, loss);
        const py::ssize_t N = check_data(net, params, X, nullptr);
        darray out({N, static_cast<py::ssize_t>(net.d_out())});
        {
          py::gil_scoped_release release;
          mlp::forward(net, params.data(), X.data(), N, out.mutable_data());
        }
        return out;
      },
      SHARPDYN_NET_ARGS, py::arg("params"), py::arg("X"), "Outputs f, shape (N, d_out).");

  m.def(
      "mlp_loss_gradient",
      [](const VecI& w, int act, bool bias, const VecD& mult, int loss, const darray& params,
         const darray& X, const darray& Y, bool want_grad) {
        const Network net = network_from(w, act, bias, mult, loss);
        const py::ssize_t N = check_data(net, params, X, &Y);
        darray grad(want_grad ? net.num_params : 0);
        double L;
        {
          py::gil_scoped_release release;
          L = mlp::loss_and_gradient(net, params.data(), X.data(), Y.data(), N,
                                     want_grad ? grad.mutable_data() : nullptr);
        }
        return py::make_tuple(L, grad);
      },
      SHARPDYN_NET_ARGS, py::arg("params"), py::arg("X"), py::arg("Y"), py::arg("want_grad"),
      "(loss, gradient) of the training loss.");

  m.def(
      "mlp_hvp",
      [](const VecI& w, int act, bool bias, const VecD& mult, int loss, const darray& params,
         const darray& X, const darray& Y, const darray& v) {
        const Network net = network_from(w, act, bias, mult, loss);
        const py::ssize_t N = check_data(net, params, X, &Y);
        require_size(v, net.num_params, "v");
        darray out(net.num_params);
        {
          py::gil_scoped_release release;
          mlp::hvp(net, params.data(), X.data(), Y.data(), N, v.data(), out.mutable_data());
        }
        return out;
      },
      SHARPDYN_NET_ARGS, py::arg("params"), py::arg("X"), py::arg("Y"), py::arg("v"),
      "Exact Hessian-vector product.");

  m.def(
      "mlp_hessian",
      [](const VecI& w, int act, bool bias, const VecD& mult, int loss, const darray& params,
         const darray& X, const darray& Y, bool gauss_newton, int threads) {
        const Network net = network_from(w, act, bias, mult, loss);
        const py::ssize_t N = check_data(net, params, X, &Y);
        const py::ssize_t P = net.num_params;
        darray out({P, P});
        {
          py::gil_scoped_release release;
          mlp::hessian(net, params.data(), X.data(), Y.data(), N, gauss_newton, out.mutable_data(),
                       threads);
        }
        return out;
      },
      SHARPDYN_NET_ARGS, py::arg("params"), py::arg("X"), py::arg("Y"),
      py::arg("gauss_newton") = false, py::arg("threads") = 0,
      "Dense Hessian (or Gauss-Newton matrix), shape (P, P).");

  m.def(
      "mlp_jacobian",
      [](const VecI& w, int act, bool bias, const VecD& mult, int loss, const darray& params,
         const darray& X) {
        const Network net = network_from(w, act, bias, mult, loss);
        const py::ssize_t N = check_data(net, params, X, nullptr);
        darray out({N * static_cast<py::ssize_t>(net.d_out()), static_cast<py::ssize_t>(net.num_params)});
        {
          py::gil_scoped_release release;
          mlp::jacobian(net, params.data(), X.data(), N, out.mutable_data());
        }
        return out;
      },
      SHARPDYN_NET_ARGS, py::arg("params"), py::arg("X"),
      "Jacobian of the outputs, shape (N * d_out, P).");

  m.def(
      "mlp_top_eigenvalues_hvp",
      [](const VecI& w, int act, bool bias, const VecD& mult, int loss, const darray& params,
         const darray& X, const darray& Y, int k, int max_iter, double tol, std::uint64_t seed) {
        const Network net = network_from(w, act, bias, mult, loss);
        const py::ssize_t N = check_data(net, params, X, &Y);
        darray values(k);
        int iters;
        {
          py::gil_scoped_release release;
          iters = mlp::top_eigenvalues_hvp(net, params.data(), X.data(), Y.data(), N, k, max_iter,
                                           tol, seed, values.mutable_data());
        }
        return py::make_tuple(values, iters);
      },
      SHARPDYN_NET_ARGS, py::arg("params"), py::arg("X"), py::arg("Y"), py::arg("k"),
      py::arg("max_iter"), py::arg("tol"), py::arg("seed"),
      "Top-k Hessian eigenvalues by Lanczos on exact HVPs: (values, iterations).");

  m.def(
      "lanczos_dense",
      [](const darray& A, int k, int max_iter, double tol, std::uint64_t seed) {
        if (A.ndim() != 2 || A.shape(0) != A.shape(1)) throw std::invalid_argument("A: expected a square matrix");
        const py::ssize_t n = A.shape(0);
        lanczos::Result r;
        {
          py::gil_scoped_release release;
          r = lanczos::top_eigenpairs_dense(A.data(), n, k, max_iter, tol, seed);
        }
        const py::ssize_t kk = r.values.size();
        darray values(kk), residuals(kk), vectors({n, kk});
        for (py::ssize_t i = 0; i < kk; ++i) {
          values.mutable_at(i) = r.values[i];
          residuals.mutable_at(i) = r.residuals[i];
          for (py::ssize_t j = 0; j < n; ++j) vectors.mutable_at(j, i) = r.vectors(j, i);
        }
        return py::make_tuple(values, vectors, residuals, r.iterations, r.converged);
      },
      py::arg("A"), py::arg("k"), py::arg("max_iter"), py::arg("tol"), py::arg("seed"),
      "Largest-k eigenpairs of a dense symmetric matrix: (values, vectors, residuals, "
      "iterations, converged).");

  m.def(
      "mlp_train",
      [](const std::vector<py::tuple>& nets_in, const i64array& net_index, const std::vector<darray>& inits,
         const darray& lr, const i64array& seeds, const darray& X, const darray& Y,
         const i64array& orders, const i64array& order_index, std::int64_t steps,
         std::int64_t sharpness_every, std::int64_t batch_size, int max_iter, double tol,
         double divergence_factor, int threads, const py::object& progress, double momentum,
         bool nesterov) {
        std::vector<Network> nets;
        for (const auto& t : nets_in) {
          nets.push_back(network_from(t[0].cast<VecI>(), t[1].cast<int>(), t[2].cast<bool>(),
                                      t[3].cast<VecD>(), t[4].cast<int>()));
        }
        const py::ssize_t R = net_index.size();
        require_size(lr, R, "lr");
        require_size(seeds, R, "seeds");
        if (static_cast<py::ssize_t>(inits.size()) != R) throw std::invalid_argument("inits: one per run");
        if (nets.empty()) throw std::invalid_argument("networks: need at least one");
        const auto din = nets[0].d_in(), dout = nets[0].d_out();
        for (const auto& n : nets) {
          if (n.d_in() != din || n.d_out() != dout) throw std::invalid_argument("networks: d_in/d_out differ");
        }
        if (X.ndim() != 2 || X.shape(1) != din) throw std::invalid_argument("X: expected shape (N, d_in)");
        const py::ssize_t N = X.shape(0);
        require_matrix(Y, N, dout, "Y");
        if (batch_size > 0) {
          if (orders.ndim() != 3 || orders.shape(1) < steps || orders.shape(2) != batch_size) {
            throw std::invalid_argument("order: expected shape (n_orders, steps, batch_size)");
          }
          const std::int64_t* o = orders.data();
          for (py::ssize_t i = 0; i < orders.size(); ++i) {
            if (o[i] < 0 || o[i] >= N) throw std::invalid_argument("order: index out of range");
          }
          require_size(order_index, R, "order_index");
        }
        mlp::TrainConfig cfg;
        cfg.steps = steps;
        cfg.sharpness_every = sharpness_every;
        cfg.batch_size = batch_size;
        cfg.lanczos_max_iter = max_iter;
        cfg.lanczos_tol = tol;
        cfg.divergence_factor = divergence_factor;
        if (!(momentum >= 0.0 && momentum < 1.0)) throw std::invalid_argument("momentum: must be in [0, 1)");
        cfg.momentum = momentum;
        cfg.nesterov = nesterov;
        const py::ssize_t T1 = steps + 1, M = steps / sharpness_every + 1;
        darray loss({R, T1}), sharp({R, M});
        u8array diverged(R);
        i64array at(R), interrupted_at(R);
        std::vector<darray> finals;
        std::vector<mlp::Run> runs(R);
        std::vector<mlp::RunOutput> outs(R);
        for (py::ssize_t r = 0; r < R; ++r) {
          const std::int64_t ni = net_index.at(r);
          if (ni < 0 || ni >= static_cast<std::int64_t>(nets.size())) throw std::invalid_argument("net_index: out of range");
          require_size(inits[r], nets[ni].num_params, "init");
          finals.emplace_back(nets[ni].num_params);
          runs[r].network = static_cast<int>(ni);
          runs[r].init = inits[r].data();
          runs[r].lr = lr.at(r);
          runs[r].seed = static_cast<std::uint64_t>(seeds.at(r));
          if (batch_size > 0) {
            const std::int64_t oi = order_index.at(r);
            if (oi < 0 || oi >= orders.shape(0)) throw std::invalid_argument("order_index: out of range");
            runs[r].order = orders.data() + oi * orders.shape(1) * batch_size;
          }
          outs[r].loss = loss.mutable_data() + r * T1;
          outs[r].sharpness = sharp.mutable_data() + r * M;
          outs[r].params = finals.back().mutable_data();
          outs[r].diverged = diverged.mutable_data() + r;
          outs[r].diverged_at = at.mutable_data() + r;
          outs[r].interrupted_at = interrupted_at.mutable_data() + r;
        }
        if (!progress.is_none() && !PyCallable_Check(progress.ptr())) {
          throw py::type_error("progress must be callable or None");
        }
        PythonInterrupt guard(progress);
        {
          py::gil_scoped_release release;
          mlp::train(nets, runs, outs, X.data(), Y.data(), N, cfg, threads, guard.interrupt());
        }
        // Ctrl-C keeps the finished steps (interrupted_at says where each run stopped); an
        // exception from the progress callable propagates.
        guard.forget_keyboard_interrupt();
        guard.raise_if_stopped();
        guard.report_progress();
        return py::make_tuple(loss, sharp, diverged, at, finals, interrupted_at);
      },
      py::arg("networks"), py::arg("net_index"), py::arg("inits"), py::arg("lr"), py::arg("seeds"),
      py::arg("X"), py::arg("Y"), py::arg("orders"), py::arg("order_index"), py::arg("steps"),
      py::arg("sharpness_every"), py::arg("batch_size"), py::arg("max_iter"), py::arg("tol"),
      py::arg("divergence_factor"), py::arg("threads") = 0, py::arg("progress") = py::none(),
      py::arg("momentum") = 0.0, py::arg("nesterov") = false,
      "Batched GD/SGD runs, optionally with heavy-ball momentum in [0, 1) (torch.optim.SGD's "
      "convention: dampening 0, zero initial velocity; nesterov as SGD(nesterov=True)): (loss, sharpness, diverged, diverged_at, final_params, "
      "interrupted_at). Ctrl-C stops every run at its next step and returns what is done "
      "(interrupted_at: the step each run stopped at, -1 if it finished). progress, if given, "
      "is called with the number of finished run-steps (of runs x steps) about every 50 ms "
      "and at the end.");
}

}  // namespace sharpdyn::bindings
