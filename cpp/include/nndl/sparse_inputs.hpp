// The first layer trained on sparse inputs: for the length of one train_minibatches call its
// weights (and their velocity, L1 record and update EMA) are kept input-major, Wt[k][j], each row
// padded with zeros to whole vectors, so that the forward product and the gradient read only the
// rows of the inputs that are nonzero (kernel_table.hpp's sparse_* kernels). Written back to the
// network's output-major layout when the call ends, whichever way it ends.
//
// The padding stays exactly zero: its gradient is x * 0, and every regularizer maps 0 to 0.
//
// Parity halves. The forward product's reduction tree adds, last, the sum of the groups of the even
// inputs to that of the odd inputs (kernels_simd.inl). When the kernel set has 4 lanes or more and
// n_in is a multiple of them, and the caller asks (network.cpp: two threads or more, or the update's
// moving average watched), the rows of Wt are kept in two halves, the even inputs' rows then the odd
// inputs' (input k at row k / 2 + (k mod 2) * half_rows; half_rows a whole number of the update's
// change blocks, so that a half is whole blocks, and a whole number of cache lines), and a mini-batch
// split between two threads is split by halves for the first layer: each thread sorts and sums its
// own half's inputs for all the examples (sort_by_parity, sparse_forward_half), the two halves' sums
// are added per example (combine_halves), and each thread updates its own half's rows. Each thread
// then reads and writes only its own rows of Wt: split by examples, each thread read every row, and
// the rows the other thread had just updated came from the other core's cache. The bits are the same
// (the same sums, added in the same order) however a mini-batch is split, and so is the update's
// change record (sums of 16 rows in row order) for any split of the same layout.
//
// Pixel codes. The update takes a mini-batch's nonzeros by row of Wt. A counting sort places them
// into runs (sort_by_input, sort_by_parity); a mini-batch of at most 16 examples, every one from the
// input cache, is instead placed as pixel codes, a byte per example in a 16-byte row per input
// (by_codes, place_codes): one store an entry instead of three and a counter's increment.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "nndl/architecture.hpp"
#include "nndl/cache_line_vector.hpp"
#include "nndl/kept_nonzeros.hpp"
#include "nndl/kernel_table.hpp"
#include "nndl/thread_pool.hpp"
#include "nndl/work_split.hpp"

namespace nndl {

template <class T>
class SparseFirstLayer {
  public:
    // weights (n_out, n_in) of layer 1 inside params; velocity, l1_applied and ema laid out as params
    // (each may be null). Copies them input-major; the destructor copies them back.
    // max_parts: the most parts a mini-batch is split in (sort_by_input's `part`). halves: in parity
    // halves if the kernel set and n_in allow them.
    SparseFirstLayer(const Architecture& arch, const KernelTable<T>& kernels, int64_t max_batch, int max_parts,
                     bool halves, T* weights, T* velocity, T* l1_applied, T* ema)
        : n_in(arch.sizes[0]),
          n_out(arch.sizes[1]),
          lanes(kernels.sparse_lanes),
          ld((n_out + lanes - 1) / lanes * lanes),
          groups(lanes + 1),
          half_rows(halves ? halves_of(n_in, lanes, kernels) : 0),
          rows(half_rows > 0 ? 2 * half_rows : n_in),
          weights_(weights),
          velocity_(velocity),
          l1_applied_(l1_applied),
          ema_(ema) {
        const auto cells = static_cast<size_t>(rows * ld);
        wt.assign(cells, T(0));
        to_input_major(weights_, wt);
        if (velocity_) velocity_t.assign(cells, T(0)), to_input_major(velocity_, velocity_t);
        if (l1_applied_) l1_applied_t.assign(cells, T(0)), to_input_major(l1_applied_, l1_applied_t);
        if (ema_) ema_t.assign(cells, T(0)), to_input_major(ema_, ema_t);
        const auto entries = static_cast<size_t>(max_batch * n_in);
        index.resize(entries);
        value.resize(entries);
        count.resize(static_cast<size_t>(max_batch * groups));
        kept_first.resize(static_cast<size_t>(max_batch * groups));
        col_count.resize(static_cast<size_t>(std::max(1, max_parts) * rows));
        part_examples.resize(static_cast<size_t>(std::max(1, max_parts)));
        const auto runs = static_cast<size_t>(max_batch * rows);
        col_example.resize(runs);
        col_value.resize(runs);
        if (max_batch <= kCodedRowBytes) col_code.assign(static_cast<size_t>(rows * kCodedRowBytes), uint8_t{0});
        // At least kCodedRowBytes rows: the update's pairs of coded entries read row 15 for a missing
        // second entry (kernels_simd.inl: CodedEntries), and multiply it by 0. Rows past the
        // mini-batch are zeros, or an earlier mini-batch's deltas, finite: 0 times them adds 0.
        delta_pad.assign(static_cast<size_t>(std::max(max_batch, kCodedRowBytes) * ld), T(0));
        row_change.resize(static_cast<size_t>((rows + kSparseChangeBlock - 1) / kSparseChangeBlock));
        if (half_rows > 0)
            for (auto& sums : half_sums) sums.assign(static_cast<size_t>(max_batch * ld), T(0));
        bias_change.resize(static_cast<size_t>(n_out));
    }
    ~SparseFirstLayer() {
        to_output_major(wt, weights_);
        if (velocity_) to_output_major(velocity_t, velocity_);
        if (l1_applied_) to_output_major(l1_applied_t, l1_applied_);
        if (ema_) to_output_major(ema_t, ema_);
    }
    SparseFirstLayer(const SparseFirstLayer&) = delete;
    SparseFirstLayer& operator=(const SparseFirstLayer&) = delete;

    // The gathered nonzeros of examples `examples` (part `part` of a mini-batch of m), by input, each
    // input's examples in order: those of the input whose row of Wt is r (row_of) from
    // col_example/col_value[r * m + examples.begin], their count at col_count[part * rows + r]. (Rows
    // rather than input numbers throughout: what the gather writes.) An example has at most one entry
    // per input, so each part has slots of its own in every input's m, and one pass places the entries
    // (a counting sort first counted, then placed: the count was a third of its time). The parts sort
    // on their own threads as they gather, and join_parts closes the gaps between their runs. Sorted by
    // ranges of inputs instead, each part had to find its own entries in every example's: at two
    // threads a part took 18.5-21.2 us of the whole sort's 26.5 (benchmarks/sparse_in_cache.cpp,
    // 784-100 float32, m = 100); by examples it takes 13.5, and its share of the join 2.
    // The entries are placed a group at a time (the inputs k with k mod lanes = g), each group's
    // examples in order: an input belongs to one group, so its examples still come in order, and the
    // rows being filled at a time are one group's (49 of 784 at 16 lanes), whose lines stay in L1
    // between one example and the next. One example after another, every row was in use at once, and each
    // placement missed L1. In cache (one core, AVX-512, best of 7 rounds), 784-30 m=100: float64
    // 23.8-24.4 -> 21.1-21.3 us, float32 25.2-25.8 -> 24.0-24.2; m=10 float64 1.9-2.0 -> 1.8-1.85.
    //
    // With read_kept: the examples i of the mini-batch whose kept[i].counts is set have their nonzeros
    // in the input cache: they are decoded here straight into the sorted runs (decoding them into the
    // per-example slots as well, for the forward product, took 2 of the pass's 4 stores an entry, and
    // the forward product now reads the records: input_rows), from where note_kept found each group
    // starts (kept_first). The other examples were gathered into their slots.
    //
    // coded (by_codes): the whole mini-batch, every example kept, placed as pixel codes instead (place_codes).
    void sort_by_input(int64_t m, Range examples, int part, bool coded) {
        if (coded) return place_codes(m, 0, 1);
        int64_t* filled = &col_count[static_cast<size_t>(part * rows)];
        std::fill(filled, filled + rows, int64_t{0});
        part_examples[static_cast<size_t>(part)] = examples;
        for (int64_t g = 0; g < groups; ++g) {
            for (int64_t i = examples.begin; i < examples.end; ++i) {
                const auto group = static_cast<size_t>(i * groups + g);
                const KeptNonzeros* record = kept_ ? &kept_[i] : nullptr;
                if (record && record->counts)
                    place_kept(*record, group, i, m, examples.begin, filled);
                else
                    place_gathered(g, i, m, examples.begin, filled);
            }
        }
    }

    // With parity halves, a mini-batch split in two: half `half` (the groups of its parity, whose rows
    // are that half's) of all m examples, into the runs of its rows, each row's examples in order (so
    // that the update needs no join). The examples kept by the input cache were noted (note_kept).
    void sort_by_parity(int64_t m, int half) {
        if (by_codes(m, true)) return place_codes(m, half, 2);
        int64_t* filled = &col_count[static_cast<size_t>(half * half_rows)];
        std::fill(filled, filled + half_rows, int64_t{0});
        filled -= half * half_rows;  // indexed by row
        for (int64_t g = half; g < lanes; g += 2) {
            for (int64_t i = 0; i < m; ++i) {
                const KeptNonzeros* record = kept_ ? &kept_[i] : nullptr;
                if (record && record->counts)
                    place_kept(*record, static_cast<size_t>(i * groups + g), i, m, 0, filled);
                else
                    place_gathered(g, i, m, 0, filled);
            }
        }
    }

    // Whether the update reads this mini-batch's nonzeros as pixel codes (kernel_table.hpp's
    // SparseRowEntries) rather than as runs: at most kCodedRowBytes examples, every one from the input
    // cache (the later epochs of a call on 8-bit pixels), and each row's entries placed by one thread
    // (`whole`: the mini-batch not split by examples; split by parity halves, each thread places whole
    // rows). The same on every thread for the same mini-batch. Placing an entry is then one byte
    // store, where a run takes three and a counter's increment: the book's 784-30-10 at m=10 spent about
    // an eighth of its mini-batch in the sort by input (8k of 60k cycles on AVX2, float64).
    bool by_codes(int64_t m, bool whole) const {
        if (!whole || m > kCodedRowBytes || kept_ == nullptr || col_code.empty()) return false;
        for (int64_t i = 0; i < m; ++i)
            if (kept_[i].counts == nullptr) return false;
        return true;
    }

    // The m examples' nonzeros, from their records in the input cache, as codes: byte i of row r's
    // kCodedRowBytes is example i's code for the input of row r, 0 where it has none (a kept nonzero
    // decodes to a nonzero, so its code is never 0). The groups g = first, first + step, ...; with
    // step 2, parity half `first`, whose rows alone are cleared and written.
    void place_codes(int64_t m, int64_t first, int64_t step) {
        const int64_t row_begin = step == 1 ? 0 : first * half_rows;
        const int64_t row_count = step == 1 ? rows : half_rows;
        uint8_t* code_of_row = col_code.data();
        std::fill_n(code_of_row + row_begin * kCodedRowBytes, row_count * kCodedRowBytes, uint8_t{0});
        for (int64_t i = 0; i < m; ++i) {
            // The record's pointers in locals: a byte store may alias anything, and with the record
            // read through a reference the compiler reloaded both pointers after every store (in cache,
            // benchmarks/sparse_in_cache.cpp, placing 784-30 m=10 took 1.26-1.33 us, now 0.93-1.00).
            const uint16_t* inputs = kept_[i].inputs;
            const uint8_t* codes = kept_[i].codes;
            const int64_t* counts = &count[static_cast<size_t>(i * groups)];
            const int64_t* starts = &kept_first[static_cast<size_t>(i * groups)];
            if (step == 1) {  // every group: the record's entries are one run
                const int64_t entries = starts[groups - 1] + counts[groups - 1];
                for (int64_t e = 0; e < entries; ++e) code_of_row[inputs[e] * kCodedRowBytes + i] = codes[e];
                continue;
            }
            for (int64_t g = first; g < groups; g += step) {
                const int64_t end = starts[g] + counts[g];
                for (int64_t e = starts[g]; e < end; ++e) code_of_row[inputs[e] * kCodedRowBytes + i] = codes[e];
            }
        }
    }

    // The mini-batch's nonzeros by row for the update: as placed by place_codes when `coded`, else the
    // runs of the sorts (m entries a row).
    SparseRowEntries<T> row_entries(int64_t m, bool coded) const {
        SparseRowEntries<T> entries;
        if (coded) {
            entries.codes = col_code.data();
            entries.decoded = decoded_;
            entries.examples = m;
        } else {
            entries.count = col_count.data();
            entries.stride = m;
            entries.example = col_example.data();
            entries.value = col_value.data();
        }
        return entries;
    }

    // Example i's record in the input cache: its group counts and where each group starts, for the
    // sorts and the forward product. Noted as the record is looked up, by the thread reading the
    // example's row (network.cpp's gather_rows), before any sort: with parity halves, both halves'
    // threads writing them for every example shared their cache lines, and cost a quarter of the sort.
    void note_kept(int64_t i) {
        const KeptNonzeros& record = kept_[i];
        int64_t first = 0;
        for (int64_t g = 0; g < groups; ++g) {
            const auto group = static_cast<size_t>(i * groups + g);
            count[group] = record.counts[g];
            kept_first[group] = first;
            first += record.counts[g];
        }
    }

    // The examples of each mini-batch whose nonzeros the input cache keeps: kept[i] (i in the
    // mini-batch) is example i's record, or has null counts; decoded is the cache's table of values.
    // Both stay in place for the length of the call (network.cpp fills kept at each mini-batch).
    void read_kept(const KeptNonzeros* kept, const T* decoded) { kept_ = kept, decoded_ = decoded; }

    // Example i's (of m, placed from `offset` in each row's run) group: from its record in the input
    // cache (count and kept_first already set for it), or from its gathered slots.
    void place_kept(const KeptNonzeros& record, size_t group, int64_t i, int64_t m, int64_t offset, int64_t* filled) {
        const int64_t entries = count[group];
        const uint16_t* inputs = record.inputs + kept_first[group];
        const uint8_t* codes = record.codes + kept_first[group];
        for (int64_t e = 0; e < entries; ++e) {
            const int64_t row = inputs[e];
            const auto at = static_cast<size_t>(row * m + offset + filled[row]++);
            col_example[at] = static_cast<int32_t>(i);
            col_value[at] = decoded_[codes[e]];
        }
    }
    void place_gathered(int64_t g, int64_t i, int64_t m, int64_t offset, int64_t* filled) {
        const int64_t cap = n_in / lanes;
        const int64_t entries = count[static_cast<size_t>(i * groups + g)];
        const int64_t first = i * n_in + (g < lanes ? g * cap : cap * lanes);
        for (int64_t e = first; e < first + entries; ++e) {
            const int32_t row = index[static_cast<size_t>(e)];
            const auto at = static_cast<size_t>(row * m + offset + filled[row]++);
            col_example[at] = static_cast<int32_t>(i);
            col_value[at] = value[static_cast<size_t>(e)];
        }
    }

    // The nonzeros of the mini-batch's examples from i0 on, for sparse_forward (after sort_by_input).
    SparseInputRows<T> input_rows(int64_t i0) const {
        const auto slots = static_cast<size_t>(i0 * n_in), groups_at = static_cast<size_t>(i0 * groups);
        return {&index[slots],          &value[slots], &count[groups_at], kept_ ? kept_ + i0 : nullptr,
                &kept_first[groups_at], decoded_};
    }

    // After sort_by_input of parts [0, parts): the runs of the rows `inputs` (input_range's: with parity
    // halves, and the same rows of the second half) joined, each row's in part order, so that row k's
    // col_count[k] entries follow one another from k * m, examples in order.
    void join_parts(int64_t m, Range inputs, int parts) {
        for (int p = 1; p < parts; ++p) {
            const int64_t* counted = &col_count[static_cast<size_t>(p * rows)];
            const int64_t from = part_examples[static_cast<size_t>(p)].begin;
            for (int64_t offset : {int64_t{0}, half_rows}) {
                for (int64_t k = inputs.begin + offset; k < inputs.end + offset; ++k) {
                    const auto src = static_cast<size_t>(k * m + from), dst = static_cast<size_t>(k * m + col_count[k]);
                    std::copy_n(&col_example[src], counted[k], &col_example[dst]);
                    std::copy_n(&col_value[src], counted[k], &col_value[dst]);
                    col_count[k] += counted[k];
                }
                if (half_rows == 0) break;
            }
        }
    }

    // The deltas of layer 1's outputs (m, n_out), rows [i0, i1), as (m, ld) rows for the sparse update.
    void pad_deltas(const T* delta, int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) std::copy(delta + i * n_out, delta + (i + 1) * n_out, &delta_pad[i * ld]);
    }

    // Part p of the rows for the update when the mini-batch is not split by halves, cut at multiples
    // of kSparseChangeBlock so that the change record does not depend on the cut. Rows are
    // independent: any cut gives the same bits. (An even cut: MNIST's nonzeros are about symmetric
    // around the middle of the image.) With parity halves, rows of the first half: the part updates
    // them and the same rows of the second (sparse_update's `second`, half_rows).
    Range input_range(int parts, int p) const {
        return part_range(half_rows > 0 ? n_in / 2 : n_in, parts, p, kSparseChangeBlock);
    }

    // Z (m, n_out) of examples [i0, i1) from the two halves' sums (sparse_forward_half) plus b: the
    // tree's last addition, then the bias, as sparse_forward adds them.
    void combine_halves(int64_t i0, int64_t i1, const T* b, T* Z) const {
        const T* even = half_sums[0].data();
        const T* odd = half_sums[1].data();
        for (int64_t i = i0; i < i1; ++i)
            for (int64_t j = 0; j < n_out; ++j) Z[i * n_out + j] = (even[i * ld + j] + odd[i * ld + j]) + b[j];
    }

    // The rows of half `half` that hold weights (the rest of a half, up to a whole change block, is
    // padding: zero for good, and not updated, which changes no bit, as its change is 0).
    Range half_range(int half) const { return {half * half_rows, half * half_rows + n_in / 2}; }

    // Input k's row of Wt (kernel_table.hpp's gather_nonzeros).
    int64_t row_of(int64_t k) const { return half_rows == 0 ? k : (k >> 1) + (k & 1) * half_rows; }

    const int64_t n_in, n_out, lanes, ld, groups;
    // With parity halves: the rows of a half (0 without), and the rows of Wt (n_in without).
    const int64_t half_rows, rows;
    CacheLineVector<T> wt, velocity_t, l1_applied_t, ema_t;  // (rows, ld), input-major
    CacheLineVector<int32_t> index;                          // per example: its nonzeros, gather_nonzeros' groups
    CacheLineVector<T> value;
    std::vector<int64_t> count;
    std::vector<int64_t> kept_first;       // per example kept by the input cache: where each group starts
    std::vector<int64_t> col_count;        // the nonzeros by input (sort_by_input): counts (per part),
    CacheLineVector<int32_t> col_example;  // examples and
    CacheLineVector<T> col_value;          // values, input k's from k * m
    CacheLineVector<uint8_t> col_code;     // or pixel codes (place_codes), (rows, kCodedRowBytes), for m <= 16
    CacheLineVector<T> delta_pad;          // (m, ld)
    std::vector<double> row_change;        // sparse_update's change record, a sum per kSparseChangeBlock rows
    std::vector<double> bias_change;
    CacheLineVector<T> half_sums[2];  // sparse_forward_half's, (m, ld) each

  private:
    // The copies between the two layouts, made at every train_minibatches call (10 a 784-500-10
    // epoch) while the other threads wait: in square tiles, each walked along the input-major rows
    // (whose length ld can be a power of two, 512 float32 for 500 units: a column's consecutive rows
    // then fall in the same few L1 sets, and a column walk evicted its own lines), and split between
    // the threads by outputs, at whole cache lines of the input-major side. Profiled at 784-500-10
    // float32 on one core: 1.5 ms per million weights each way, one column at a time; 1.0 ms now.
    template <class Copy>
    void by_tiles(Copy copy) const {
        constexpr int64_t tile = 64 / sizeof(T) < 8 ? 8 : 64 / sizeof(T);
        const int parts = n_in * n_out < kParallelCopyValues ? 1 : num_threads();
        parallel_for(parts, [&](int p) {
            const Range outputs = part_range(n_out, parts, p, tile);
            for (int64_t j0 = outputs.begin; j0 < outputs.end; j0 += tile) {
                const int64_t j1 = std::min(j0 + tile, outputs.end);
                for (int64_t k0 = 0; k0 < n_in; k0 += tile) {
                    const int64_t k1 = std::min(k0 + tile, n_in);
                    for (int64_t k = k0; k < k1; ++k)
                        for (int64_t j = j0; j < j1; ++j) copy(j * n_in + k, row_of(k) * ld + j);
                }
            }
        });
    }
    void to_input_major(const T* from, CacheLineVector<T>& to) const {
        T* out = to.data();
        by_tiles([&](int64_t output_major, int64_t input_major) { out[input_major] = from[output_major]; });
    }
    void to_output_major(const CacheLineVector<T>& from, T* to) const {
        const T* in = from.data();
        by_tiles([&](int64_t output_major, int64_t input_major) { to[output_major] = in[input_major]; });
    }
    static constexpr int64_t kParallelCopyValues = 100000;  // below this a thread hand-off costs more

    // half_rows for parity halves, or 0 where there are none: fewer than 4 lanes (a half would not be
    // pairs of groups), or a tail group (whose inputs the tree adds after both halves).
    static int64_t halves_of(int64_t n_in, int64_t lanes, const KernelTable<T>& kernels) {
        if (kernels.sparse_forward_half == nullptr || lanes < 4 || n_in % lanes != 0) return 0;
        // Whole change blocks, and whole cache lines of rows (a block of 16 rows of >= 4 values is).
        const int64_t half = (n_in / 2 + kSparseChangeBlock - 1) / kSparseChangeBlock * kSparseChangeBlock;
        return 2 * half <= kMaxKeptRows ? half : 0;  // the input cache keeps row numbers in 2 bytes
    }

    std::vector<Range> part_examples;     // each part's examples at its last sort_by_input
    const KeptNonzeros* kept_ = nullptr;  // read_kept's
    const T* decoded_ = nullptr;
    T* weights_;
    T* velocity_;
    T* l1_applied_;
    T* ema_;
};

}  // namespace nndl
