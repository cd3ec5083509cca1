package org.lowbit4j.autograd.blas;

import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The helper threads of {@link Gemm#forEachParallel}, one per extra core: each runs one task per
 * parallel region, and between regions it waits by spinning for {@link #SPIN_NANOS}, then parks.
 *
 * <p>Why not an {@code ExecutorService}: its idle threads park at once, and waking a parked thread on
 * an idle vCPU is slow here (a halted vCPU must be woken by the hypervisor). Measured on the quiet
 * 2-vCPU machine (all CPUs idle before, 2026-11-23 08:06), oneDNN products cut into two row bands,
 * back to back: 512³ 282-321 GFLOP/s with this hand-over against 248-285 with an executor's, the
 * stories15M [2048, 288] x [288, 288] 313-317 against 283-292, 1024³ the same (327-332); with 3 ms of
 * other work between products (the helper parked by then) 512³ fell to 188 and 156. A training step's
 * products come nearly back to back, so a short spin keeps the helper awake for the next one; it costs
 * at most {@link #SPIN_NANOS} of one core after each region, yielding to other threads after
 * {@link #BUSY_NANOS} (OpenBLAS's own idle threads spin for ~100 ms).
 *
 * <p>Thread safety: {@link #run} must not be called by two threads at once (the caller serialises
 * regions), nor from a helper thread ({@link #isHelper}).
 */
final class CoreWorkers {
    /** System property: how long, in microseconds, an idle helper spins before it parks (default 1000). */
    static final String SPIN_PROPERTY = "lowbit4j.gemm.spinMicros";
    /** How long an idle helper (and the caller waiting for helpers) spins before it parks. */
    static final long SPIN_NANOS = 1000L * Long.getLong(SPIN_PROPERTY, 1000);
    /**
     * Within the spin, how long to busy-wait before yielding the core at each turn instead: on a machine
     * with more runnable threads than cores, a pure busy-wait could hold the core the awaited thread needs.
     */
    static final long BUSY_NANOS = 20_000;

    private final Helper[] helpers;

    /**
     * Starts the helper threads (daemons).
     *
     * @param count the number of helpers, at least 1
     * @throws IllegalArgumentException if count is below 1
     */
    CoreWorkers(int count) {
        if (count < 1) {
            throw new IllegalArgumentException("need at least one helper, got " + count);
        }
        helpers = new Helper[count];
        for (int i = 0; i < count; i++) {
            helpers[i] = new Helper(i);
            helpers[i].start();
        }
    }

    /** @return the number of helper threads */
    int size() {
        return helpers.length;
    }

    /** @return true if t is one of the helper threads (work inside a region must not start another one) */
    static boolean isHelper(Thread t) {
        return t instanceof Helper;
    }

    /**
     * Runs {@code tasks.get(i)} on helper i while the calling thread runs {@code own}, and returns once
     * every one of them has finished, even when some fail.
     *
     * @param tasks at most {@link #size()} tasks for the helpers
     * @param own the caller's share of the work
     * @throws RuntimeException the first failure: the caller's own, else the lowest helper's (an Error or
     *     checked exception from a helper is wrapped in an IllegalStateException)
     * @throws IllegalArgumentException if there are more tasks than helpers
     */
    void run(List<Runnable> tasks, Runnable own) {
        if (tasks.size() > helpers.length) {
            throw new IllegalArgumentException(tasks.size() + " tasks for " + helpers.length + " helpers");
        }
        for (int i = 0; i < tasks.size(); i++) {
            helpers[i].give(tasks.get(i));
        }
        RuntimeException failure = null;
        try {
            own.run();
        } catch (RuntimeException e) {
            failure = e;
        }
        boolean interrupted = false;
        for (int i = 0; i < tasks.size(); i++) {
            interrupted |= helpers[i].awaitDone();
            Throwable t = helpers[i].takeFailure();
            if (failure == null && t != null) {
                failure = t instanceof RuntimeException re ? re : new IllegalStateException(t);
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt(); // every task has finished; keep the caller's interrupt
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * One turn of a spin that started at {@code start}: a busy-wait hint, later a yield.
     *
     * @return false once the spin has lasted {@link #SPIN_NANOS}: time to park
     */
    private static boolean spin(long start) {
        long spent = System.nanoTime() - start;
        if (spent < BUSY_NANOS) {
            Thread.onSpinWait();
            return true;
        }
        if (spent < SPIN_NANOS) {
            Thread.yield();
            return true;
        }
        return false;
    }

    /** One helper thread and its hand-over slot. */
    private static final class Helper extends Thread {
        /** The task to run, set by the caller and cleared by this thread when it has finished. */
        private volatile Runnable task;
        private volatile Throwable failure;
        /** True while this thread is parked (or about to park) waiting for a task. */
        private volatile boolean parked;
        /** The caller parked waiting for this helper to finish, or null. */
        private volatile Thread waiter;

        Helper(int index) {
            super("lowbit4j-gemm-worker-" + index);
            setDaemon(true);
        }

        void give(Runnable r) {
            task = r;
            if (parked) {
                LockSupport.unpark(this);
            }
        }

        /** @return whether the waiting thread was interrupted meanwhile (its flag is cleared) */
        boolean awaitDone() {
            boolean interrupted = false;
            long start = System.nanoTime();
            while (task != null) {
                if (spin(start)) {
                    continue;
                }
                waiter = Thread.currentThread();
                if (task != null) {
                    LockSupport.park(this);
                }
                waiter = null;
                interrupted |= Thread.interrupted();
            }
            return interrupted;
        }

        Throwable takeFailure() {
            Throwable t = failure;
            failure = null;
            return t;
        }

        @Override
        public void run() {
            while (true) {
                Runnable r = awaitTask();
                try {
                    r.run();
                } catch (Throwable t) {
                    failure = t;
                }
                task = null; // publishes the results and the failure to the caller
                Thread w = waiter;
                if (w != null) {
                    LockSupport.unpark(w);
                }
            }
        }

        private Runnable awaitTask() {
            long start = System.nanoTime();
            while (true) {
                Runnable r = task;
                if (r != null) {
                    return r;
                }
                if (!spin(start)) {
                    parked = true;
                    if (task == null) {
                        LockSupport.park(this);
                    }
                    parked = false;
                }
            }
        }
    }
}
