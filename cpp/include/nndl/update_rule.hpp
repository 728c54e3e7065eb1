// The regularized mini-batch update, one weight at a time, so that a kernel can fuse it into the
// pass that sums the weight's gradient. With m the mini-batch size, n the training-set size and
// g the gradient summed over the mini-batch:
//   none        w <- w - (eta/m) g
//   l2          w <- (1 - eta*lmbda/n) w - (eta/m) g                      (the book, eq. 93)
//   l1          w <- w - (eta*lmbda/n) sgn(w) - (eta/m) g, sgn(0) = 0     (the book, eq. 97)
//   elastic_net the L2 shrink with lmbda*(1-l1_ratio), the L1 step with lmbda*l1_ratio
// The L1 step is taken one of three ways (L1Method): the book's subgradient; proximal
// soft-thresholding after the gradient step, which lands weights on exact zeros; or the cumulative
// penalty of Tsuruoka, Tsujii and Ananiadou (ACL 2009), which clips at zero and remembers how much
// penalty each weight has received, so that gradient noise does not pull zeros back out.
// With momentum mu (the book's chapter 3), the smooth part of the step goes through a velocity:
//   v <- mu v + step;  w <- w + v       and proximal/cumulative then act on the result.
#pragma once

#include <cmath>
#include <cstdint>

namespace nndl {

enum class Regularization { none, l2, l1, elastic_net };
enum class L1Method { subgradient, proximal, cumulative };

struct UpdateRule {
    Regularization regularization = Regularization::l2;
    L1Method l1_method = L1Method::subgradient;
    double eta = 0.1;
    double lmbda = 0.0;
    double l1_ratio = 0.5;  // only for elastic_net: the L1 share of lmbda
    int64_t n = 1;          // training-set size: the penalty is lmbda/n, never lmbda/m
    double momentum = 0.0;

    double l1_lmbda() const {
        if (regularization == Regularization::l1) return lmbda;
        if (regularization == Regularization::elastic_net) return lmbda * l1_ratio;
        return 0.0;
    }
    double l2_lmbda() const {
        if (regularization == Regularization::l2) return lmbda;
        if (regularization == Regularization::elastic_net) return lmbda * (1.0 - l1_ratio);
        return 0.0;
    }
};

// The per-mini-batch constants of a rule, computed once per mini-batch.
template <class T>
struct UpdateStep {
    T eta_over_m;  // eta/m: scales the summed gradient
    T l2_shrink;   // eta*lmbda_l2/n
    T l1_step;     // eta*lmbda_l1/n
    T momentum;    // mu
    T l1_total;    // cumulative method: penalty a weight could have received so far (Tsuruoka's u)
    L1Method l1_method;
    bool has_l1;
    bool has_momentum;

    UpdateStep(const UpdateRule& rule, int64_t m, double l1_total_so_far)
        : eta_over_m(static_cast<T>(rule.eta / static_cast<double>(m))),
          l2_shrink(static_cast<T>(rule.eta * rule.l2_lmbda() / static_cast<double>(rule.n))),
          l1_step(static_cast<T>(rule.eta * rule.l1_lmbda() / static_cast<double>(rule.n))),
          momentum(static_cast<T>(rule.momentum)),
          l1_total(static_cast<T>(l1_total_so_far)),
          l1_method(rule.l1_method),
          has_l1(rule.l1_lmbda() != 0.0),
          has_momentum(rule.momentum != 0.0) {}

    // Whether a weight whose gradient is 0 stays within max(|w|, l1_step) of 0 at every step: no
    // momentum (a velocity carries earlier gradients), and an L2 factor 1 - l2_shrink in [0, 1], so
    // that the L1 step (subgradient, proximal or cumulative) only moves it towards 0 or past 0 by less
    // than l1_step. Such a weight can never turn non-finite from a finite value.
    bool bounded_without_gradient() const { return !has_momentum && l2_shrink >= T(0) && l2_shrink <= T(1); }
};

inline double sgn(double x) { return static_cast<double>((x > 0) - (x < 0)); }
inline float sgn(float x) { return static_cast<float>((x > 0) - (x < 0)); }

// Update one weight w whose summed mini-batch gradient is g. velocity is used with momentum,
// l1_applied (Tsuruoka's q) with the cumulative method; either may be null otherwise.
template <class T>
inline T regularized_weight_update(T w, T g, const UpdateStep<T>& s, T* velocity, T* l1_applied) {
    T step = -s.eta_over_m * g - s.l2_shrink * w;
    if (s.has_l1 && s.l1_method == L1Method::subgradient) step -= s.l1_step * sgn(w);
    T v;
    if (s.has_momentum) {
        *velocity = s.momentum * *velocity + step;
        v = w + *velocity;
    } else {
        v = w + step;
    }
    if (!s.has_l1 || s.l1_method == L1Method::subgradient) return v;
    if (s.l1_method == L1Method::proximal) {
        const T shrunk = std::fabs(v) - s.l1_step;
        return shrunk > 0 ? (v > 0 ? shrunk : -shrunk) : T(0);
    }
    // cumulative: clip at zero, charging each weight at most the penalty accumulated so far.
    T out = v;
    if (v > 0) {
        out = v - (s.l1_total + *l1_applied);
        if (out < 0) out = 0;
    } else if (v < 0) {
        out = v + (s.l1_total - *l1_applied);
        if (out > 0) out = 0;
    }
    *l1_applied += out - v;
    return out;
}

// Biases are never regularized.
template <class T>
inline T bias_update(T b, T g, const UpdateStep<T>& s, T* velocity) {
    const T step = -s.eta_over_m * g;
    if (s.has_momentum) {
        *velocity = s.momentum * *velocity + step;
        return b + *velocity;
    }
    return b + step;
}

}  // namespace nndl
