package org.lowbit4j.autograd.blas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The spinning hand-over of {@link CoreWorkers}: no lost task, no early return, failures and interrupts kept. */
class CoreWorkersTest {
    @Test
    void manyRegionsRunEveryTaskOnceAndReturnOnlyWhenAllFinished() {
        CoreWorkers workers = new CoreWorkers(2); // caller + 2 helpers: more threads than this machine's 2 cores
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            for (int region = 0; region < 3000; region++) {
                var ran = new AtomicIntegerArray(3);
                var helperThread = new AtomicReference<Thread>();
                List<Runnable> tasks = new ArrayList<>();
                tasks.add(() -> {
                    helperThread.set(Thread.currentThread());
                    ran.incrementAndGet(0);
                });
                if (region % 2 == 0) {
                    tasks.add(() -> ran.incrementAndGet(1));
                }
                workers.run(tasks, () -> ran.incrementAndGet(2));
                // every helper's write is visible once run returns
                assertEquals(1, ran.get(0), "region " + region);
                assertEquals(region % 2 == 0 ? 1 : 0, ran.get(1), "region " + region);
                assertEquals(1, ran.get(2), "region " + region);
                assertTrue(CoreWorkers.isHelper(helperThread.get()));
                if (region % 500 == 0) {
                    Thread.sleep(5); // let the helpers park: the wake-up path, not only the spinning one
                }
            }
        });
        assertFalse(CoreWorkers.isHelper(Thread.currentThread()));
    }

    @Test
    void failuresSurfaceAfterEveryTaskHasFinished() {
        CoreWorkers workers = new CoreWorkers(2);
        var finished = new AtomicIntegerArray(2);
        var e = assertThrows(IllegalStateException.class, () -> workers.run(List.of(() -> {
            sleep(30);
            finished.set(0, 1);
        }, () -> {
            finished.set(1, 1);
            throw new IllegalStateException("helper 1");
        }), () -> {
            throw new IllegalStateException("caller");
        }));
        assertEquals("caller", e.getMessage(), "the caller's own failure comes first");
        assertEquals(1, finished.get(0), "the slow helper had finished before run returned");
        var error = new AssertionError("an Error in a helper");
        var wrapped = assertThrows(IllegalStateException.class, () -> workers.run(List.of(() -> {
            throw error;
        }), () -> { }));
        assertSame(error, wrapped.getCause());
        assertInstanceOf(IllegalArgumentException.class, assertThrows(IllegalArgumentException.class,
                () -> workers.run(List.of(() -> { }, () -> { }, () -> { }), () -> { })));
        workers.run(List.of(() -> { }), () -> { }); // still usable after failures
    }

    @Test
    void anInterruptDuringTheWaitIsKeptAndTheWaitCompletes() {
        CoreWorkers workers = new CoreWorkers(1);
        var done = new AtomicIntegerArray(1);
        Thread caller = Thread.currentThread();
        workers.run(List.of(() -> {
            caller.interrupt();
            sleep(20);
            done.set(0, 1);
        }), () -> { });
        assertTrue(Thread.interrupted(), "the interrupt is passed on (and cleared here)");
        assertEquals(1, done.get(0));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
