package org.lowbit4j.autograd.blas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ForEachParallelTest {
    @Test
    void everyItemRunsOnceAndBatchedProductsEqualOneByOne() {
        for (long n : new long[] {0, 1, 2, 3, 7, 48}) {
            var seen = new AtomicIntegerArray((int) n);
            Gemm.forEachParallel(n, i -> seen.incrementAndGet((int) i));
            for (int i = 0; i < n; i++) {
                assertEquals(1, seen.get(i), "n=" + n + " item " + i);
            }
        }
        Nd4j.getRandom().setSeed(3);
        INDArray a = Nd4j.rand(DataType.FLOAT, 48, 64, 48);
        INDArray b = Nd4j.rand(DataType.FLOAT, 48, 64, 48);
        INDArray batched = Nd4j.create(DataType.FLOAT, 48, 64, 64);
        Gemm.gemmBatched(a, false, b, true, batched, 1.0, 0.0);
        for (int i = 0; i < 48; i++) {
            INDArray one = Gemm.mmul(a.slice(i).dup(), false, b.slice(i).dup(), true);
            assertEquals(one, batched.slice(i), "entry " + i + ": the same bits whichever thread computed it");
        }
    }

    @Test
    void aFailureSurfacesAfterEveryChunkHasFinishedAndThreadsAreRestored() {
        int before = Gemm.backend() instanceof CblasLibrary lib ? lib.threads() : -1;
        var done = new AtomicIntegerArray(10);
        var e = assertThrows(IllegalStateException.class, () -> Gemm.forEachParallel(10, i -> {
            done.set((int) i, 1);
            if (i == 7) {
                throw new IllegalStateException("item 7");
            }
        }));
        assertEquals("item 7", e.getMessage());
        int finished = 0;
        for (int i = 0; i < 10; i++) {
            finished += done.get(i);
        }
        assertTrue(finished >= 8, "the other chunks ran to completion: " + finished);
        if (Gemm.backend() instanceof CblasLibrary lib) {
            assertEquals(before, lib.threads(), "the BLAS thread count is restored");
        }
    }
}
