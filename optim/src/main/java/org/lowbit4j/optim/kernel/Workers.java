package org.lowbit4j.optim.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.function.IntConsumer;

/**
 * Runs the chunks of one tensor update on a fixed number of threads (the caller is one of them).
 *
 * <p>Pools are shared per thread count and made of daemon threads, so optimizers need no closing.
 */
public final class Workers {
    /** Below this many elements a tensor is updated by the calling thread alone. */
    public static final int MIN_PARALLEL_ELEMENTS = 1 << 15;

    private static final ConcurrentHashMap<Integer, ForkJoinPool> POOLS = new ConcurrentHashMap<>();

    private final int threads;

    private Workers(int threads) {
        this.threads = threads;
    }

    /**
     * @param threads threads to use, at least 1
     * @return workers over a shared pool of {@code threads - 1} helpers
     * @throws IllegalArgumentException if {@code threads < 1}
     */
    public static Workers of(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        return new Workers(threads);
    }

    /** @return the thread count */
    public int threads() {
        return threads;
    }

    /**
     * @param elements elements to process
     * @param align chunk boundaries are multiples of this (a block size)
     * @return how many chunks to split into: 1 for small work, else up to the thread count
     */
    public int chunksFor(long elements, int align) {
        if (threads == 1 || elements < MIN_PARALLEL_ELEMENTS) {
            return 1;
        }
        long blocks = (elements + align - 1) / align;
        return (int) Math.max(1, Math.min(threads, blocks));
    }

    /**
     * @return the first element of chunk {@code c} of {@code chunks} over {@code n} elements, aligned to
     *     {@code align} (chunk {@code chunks} starts at {@code n})
     */
    public static int chunkStart(int c, int chunks, int n, int align) {
        if (c >= chunks) {
            return n;
        }
        long blocks = ((long) n + align - 1) / align;
        return (int) Math.min(n, blocks * c / chunks * align);
    }

    /**
     * Runs {@code body.accept(c)} for c = 0..chunks-1 and waits for all of them.
     *
     * @throws RuntimeException the first failure of any chunk
     */
    public void run(int chunks, IntConsumer body) {
        if (chunks <= 1 || threads == 1) {
            for (int c = 0; c < chunks; c++) {
                body.accept(c);
            }
            return;
        }
        ForkJoinPool pool = POOLS.computeIfAbsent(threads, t -> new ForkJoinPool(t - 1));
        List<ForkJoinTask<?>> tasks = new ArrayList<>(chunks - 1);
        for (int c = 1; c < chunks; c++) {
            int chunk = c;
            tasks.add(pool.submit(() -> body.accept(chunk)));
        }
        RuntimeException failure = null;
        try {
            body.accept(0);
        } catch (RuntimeException e) {
            failure = e;
        }
        for (ForkJoinTask<?> t : tasks) {
            try {
                t.join();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
