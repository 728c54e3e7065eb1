// The update step both in-cache benchmarks time: the book's L1 subgradient rule with chapter 3's
// lmbda 5 and eta 0.5 on 50,000 training images, as `nndl bench` trains.
#pragma once

#include <cstdint>

#include "nndl/update_rule.hpp"

template <class T>
nndl::UpdateStep<T> book_l1_step(int64_t mini_batch_size) {
    nndl::UpdateRule rule;
    rule.regularization = nndl::Regularization::l1;
    rule.eta = 0.5;
    rule.lmbda = 5.0;
    rule.n = 50000;
    return nndl::UpdateStep<T>(rule, mini_batch_size, 0.0);
}
