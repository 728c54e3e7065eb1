// The training set's nonzero inputs, kept for the length of one SGD call in the form the sparse first
// layer gathers them (kernel_table.hpp: gather_nonzeros), so that every epoch after the first reads
// a few hundred bytes per example instead of its whole row, and does not gather it again.
//
// Why: at mini-batch 10 the book's network spends about a third of an epoch on its inputs. Each
// row (784 float64, 6 KB) is read from main memory in shuffled order, and its nonzeros are picked
// out, transposed into lane groups and packed, every epoch. The numbers picked out are the same each
// epoch, so the first epoch keeps them.
//
// What is kept, and how small: the inputs of the book's data sets are 8-bit pixels scaled into
// [0, 1] (MNIST: q/255), so a nonzero is kept as its input number (2 bytes) and its pixel code q (1
// byte), about 450 bytes a MNIST image instead of 6,272 (float64) or 3,136 (float32): MNIST's 50,000
// training images in 24 MB. A value is kept only when its code decodes to exactly the same bits, so
// the decoded nonzeros are the gathered ones and training gives the same bits with or without the
// cache. Which scale and rounding the codes use (q/255 or q/256, divided in double or in float) is
// chosen once, from the first rows of the data (choose_codes). At the first example with a value the
// chosen codes do not reproduce (any data that is not 8-bit pixels) the keeping stops: the examples
// kept so far are read from the cache, the others gathered every epoch, as without it. Examples are
// kept until kInputCacheBytes are used; the rest are gathered every epoch. Only an SGD call of more
// than one epoch makes a cache (network2.py), since only its later epochs read one.
//
// Threads: examples are kept and read by whichever part of a mini-batch holds them. Each record's
// place is taken with an atomic add, so records land in an order that depends on the threads, but a
// record's contents do not, and neither does any number computed from them.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "nndl/kept_nonzeros.hpp"

namespace nndl {

// The most bytes one cache keeps (records, not counting the per-example offsets): MNIST's training
// set needs about 24 MB, and issue 12 holds training to the data plus 64 MB.
constexpr int64_t kInputCacheBytes = int64_t{32} << 20;

template <class T>
class SparseInputCache {
  public:
    explicit SparseInputCache(int64_t max_bytes = kInputCacheBytes) : max_bytes_(max_bytes) {}
    SparseInputCache(const SparseInputCache&) = delete;
    SparseInputCache& operator=(const SparseInputCache&) = delete;

    // For the rows of X (n, n_in) gathered in `lanes` lane groups. A call with anything else than
    // the last call's empties the cache first (the caller also keeps X alive while bound).
    void bind(const T* X, int64_t n, int64_t n_in, int64_t lanes) {
        if (X == X_ && n == n_ && n_in == n_in_ && lanes == lanes_) return;
        X_ = X, n_ = n, n_in_ = n_in, lanes_ = lanes;
        groups_ = lanes + 1;
        cap_ = n_in / lanes;
        offset_ = std::vector<std::atomic<int64_t>>(static_cast<size_t>(n));
        for (auto& o : offset_) o.store(-1, std::memory_order_relaxed);
        used_.store(0, std::memory_order_relaxed);
        kept_.store(0, std::memory_order_relaxed);
        store_.reset();
        // Input numbers are kept in 2 bytes, group counts as well.
        // At most the budget, and at most what every example's largest record would take (a small
        // training set does not reserve the whole budget).
        const int64_t largest_record = 2 * groups_ + 3 * n_in + 1;
        capacity_ = n > max_bytes_ / largest_record ? max_bytes_ : n * largest_record;
        closed_.store(n_in > 65535 || capacity_ <= 0 || !choose_codes(), std::memory_order_relaxed);
        if (!closed_.load(std::memory_order_relaxed)) store_ = allocate_store(capacity_);
    }

    // Example `example`'s kept nonzeros, group after group (gather_nonzeros' groups, in its order):
    // counts[g] of them, input numbers from `inputs`, pixel codes (decoded()[code]) from `codes`.
    using Record = KeptNonzeros;
    Record record(int64_t example) const {
        const int64_t at = offset_[static_cast<size_t>(example)].load(std::memory_order_acquire);
        if (at < 0) return {};
        const uint8_t* head = &store_[static_cast<size_t>(at)];
        Record r;
        r.counts = reinterpret_cast<const uint16_t*>(head);  // records start on even bytes
        int64_t total = 0;
        for (int64_t g = 0; g < groups_; ++g) total += r.counts[g];
        r.inputs = r.counts + groups_;
        r.codes = reinterpret_cast<const uint8_t*>(r.inputs + total);
        return r;
    }
    // The value of each pixel code.
    const T* decoded() const { return decoded_; }

    // Keeps example `example`, whose row was just gathered into (index, value, count: one row of
    // gather_nonzeros' output), when its values have codes and the budget has room.
    void keep(int64_t example, const int32_t* index, const T* value, const int64_t* count) {
        if (closed_.load(std::memory_order_relaxed)) return;
        int64_t total = 0;
        for (int64_t g = 0; g < groups_; ++g) total += count[g];
        const int64_t head = groups_ * static_cast<int64_t>(sizeof(uint16_t));
        const int64_t bytes = (head + 3 * total + 1) / 2 * 2;  // records start on even bytes
        const int64_t at = used_.fetch_add(bytes, std::memory_order_relaxed);
        if (at + bytes > capacity_) {
            closed_.store(true, std::memory_order_relaxed);
            return;
        }
        uint8_t* record = &store_[static_cast<size_t>(at)];
        // Records start on even bytes, so their input numbers are 2-byte aligned.
        auto* inputs = reinterpret_cast<uint16_t*>(record + head);
        uint8_t* codes = reinterpret_cast<uint8_t*>(inputs + total);
        // Each value compared, as bits, with what its code decodes to. The members are read into
        // locals first: the byte stores of the codes may alias anything, and the compiler reloaded
        // and converted the scale after each of them. Keeping costs about 0.4 us a MNIST image (20
        // ms in the first epoch, in a standalone test of 50,000 images).
        const T scale = static_cast<T>(scale_);
        const T* table = decoded_;
        const int64_t groups = groups_, lanes = lanes_, cap = cap_;
        Bits differ = 0;
        for (int64_t g = 0, e = 0; g < groups; ++g) {
            const int64_t c = count[g];
            const auto c16 = static_cast<uint16_t>(c);
            std::memcpy(record + g * static_cast<int64_t>(sizeof(uint16_t)), &c16, sizeof c16);
            const int64_t first = g < lanes ? g * cap : cap * lanes;
            for (int64_t t = 0; t < c; ++t, ++e) {
                const T x = value[first + t];
                const int code = code_of(x, scale);
                differ |= bits_of(table[code]) ^ bits_of(x);
                inputs[e] = static_cast<uint16_t>(index[first + t]);
                codes[e] = static_cast<uint8_t>(code);
            }
        }
        if (differ != 0) {  // not 8-bit data: from now on every example is gathered
            closed_.store(true, std::memory_order_relaxed);
            return;
        }
        kept_.fetch_add(1, std::memory_order_relaxed);
        offset_[static_cast<size_t>(example)].store(at, std::memory_order_release);
    }

    // Asks for example `example`'s record (its first kPrefetchLines lines: a MNIST image's is 8);
    // false when the example is not kept.
    bool prefetch(int64_t example) const {
        const int64_t at = offset_[static_cast<size_t>(example)].load(std::memory_order_relaxed);
        if (at < 0) return false;
        for (int line = 0; line < kPrefetchLines; ++line)
            __builtin_prefetch(&store_[static_cast<size_t>(at)] + line * 64, 0, 2);
        return true;
    }

    int64_t examples_kept() const { return kept_.load(std::memory_order_relaxed); }
    int64_t bytes_used() const { return std::min(used_.load(std::memory_order_relaxed), capacity_); }
    int64_t max_bytes() const { return max_bytes_; }
    // The scale of the codes in use (255 or 256), or 0 when the data's first rows have none.
    int scale() const { return scale_; }

  private:
    struct Free {
        void operator()(uint8_t* p) const { std::free(p); }
    };
    using Store = std::unique_ptr<uint8_t[], Free>;

    // Uninitialized, so that pages are touched only as records fill them; on Linux in 2 MB pages
    // where the kernel allows them (madvise): MNIST's records then fault in 12 pages, not 6,000.
    static Store allocate_store(int64_t bytes) {
        constexpr size_t kHugePage = size_t{2} << 20;
        const size_t size = (static_cast<size_t>(bytes) + kHugePage - 1) / kHugePage * kHugePage;
        void* p = nullptr;
        if (posix_memalign(&p, kHugePage, size) != 0) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
        madvise(p, size, MADV_HUGEPAGE);  // advice only: without it the store still works
#endif
        return Store(static_cast<uint8_t*>(p));
    }

    using Bits = std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t>;
    static Bits bits_of(T x) {
        Bits b;
        std::memcpy(&b, &x, sizeof b);
        return b;
    }
    static constexpr int kPrefetchLines = 8;
    static constexpr int64_t kSampleRows = 256;

    // The code q nearest to x * scale, clamped to [0, 255] (NaN to 255), in T and with no call to the
    // maths library. x has a code when decoded_[code_of(x, scale)] == x: a value out of range, or a
    // rounding of this product that picks a neighbouring code, fails that.
    static int code_of(T x, T scale) {
        T q = x * scale + T(0.5);
        q = q < T(255.5) ? q : T(255.5);
        q = q > T(0) ? q : T(0);
        return static_cast<int>(q);
    }

    // The codes that reproduce every nonzero of the first kSampleRows rows, tried in turn: q/255 then
    // q/256, each divided in double, or divided in float, or divided in double and rounded to float
    // (float32 pixels given to a float64 network), and then converted to T. False when none does.
    bool choose_codes() {
        const int64_t rows = n_ < kSampleRows ? n_ : kSampleRows;
        for (int scale : {255, 256}) {
            for (int way = 0; way < 3; ++way) {
                scale_ = scale;
                decoded_[0] = T(0);
                for (int q = 1; q < 256; ++q) {
                    const double exact = static_cast<double>(q) / scale;
                    decoded_[q] = way == 0   ? static_cast<T>(exact)
                                  : way == 1 ? static_cast<T>(static_cast<float>(q) / static_cast<float>(scale))
                                             : static_cast<T>(static_cast<float>(exact));
                }
                bool all = true;
                for (int64_t i = 0; i < rows * n_in_ && all; ++i)
                    all = X_[i] == T(0) || decoded_[code_of(X_[i], static_cast<T>(scale))] == X_[i];
                if (all) return true;
            }
        }
        scale_ = 0;
        return false;
    }

    const int64_t max_bytes_;
    int64_t capacity_ = 0;  // the store's size: max_bytes_, or less for a small training set
    const T* X_ = nullptr;
    int64_t n_ = -1, n_in_ = 0, lanes_ = 0, groups_ = 0, cap_ = 0;
    std::vector<std::atomic<int64_t>> offset_;  // per example: its record's first byte, or -1
    Store store_;                               // uninitialized: pages are touched as records fill them
    std::atomic<int64_t> used_{0}, kept_{0};
    std::atomic<bool> closed_{true};
    int scale_ = 0;
    T decoded_[256] = {};
};

}  // namespace nndl
