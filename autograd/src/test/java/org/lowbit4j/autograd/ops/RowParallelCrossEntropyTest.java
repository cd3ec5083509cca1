package org.lowbit4j.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.formats.Segments;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The cross-entropy row loops on all cores: the same bits as on one thread, every row once, and the row hooks of
 * {@link LinearCrossEntropy} called where they are documented to be.
 */
class RowParallelCrossEntropyTest {
    private static final int IGNORE = -100;

    /** Shapes [N, C] x [V, C] whose N x V is above the parallel threshold; V chosen for 1, 10 and 32 rows per block. */
    private static final long[][] SHAPES = {{8, 24, 33_000}, {64, 24, 3_000}, {200, 16, 1_000}};

    private static INDArray uniform(long seed, DataType type, double scale, long... shape) {
        Random r = new Random(seed);
        double[] v = new double[(int) Arrays.stream(shape).reduce(1, (a, b) -> a * b)];
        for (int i = 0; i < v.length; i++) {
            v[i] = scale * (2 * r.nextDouble() - 1);
        }
        return Nd4j.createFromArray(v).reshape(shape).castTo(type);
    }

    /** Targets in [0, v) with about one in eight ignored. */
    private static INDArray targets(long seed, long n, long v) {
        Random r = new Random(seed);
        long[] t = new long[(int) n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(8) == 0 ? IGNORE : r.nextInt((int) v);
        }
        return Nd4j.createFromArray(t);
    }

    /** The raw bits of every element, in C order. */
    private static long[] bits(INDArray a) {
        INDArray d = a.dup('c');
        if (d.dataType() == DataType.DOUBLE) {
            return Arrays.stream(d.data().asDouble()).mapToLong(Double::doubleToRawLongBits).toArray();
        }
        float[] f = d.data().asFloat();
        long[] out = new long[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = Float.floatToRawIntBits(f[i]);
        }
        return out;
    }

    /** Loss, dx, dW of one fused classifier loss (seed 0.75 so that the scale is not 1 / count alone). */
    private static INDArray[] run(LinearCrossEntropy op, INDArray x, INDArray w) {
        Tensor xt = Tensor.parameter(x.dup());
        Tensor wt = Tensor.parameter(w.dup());
        Tensor loss = op.apply(xt, wt);
        loss.backward(Nd4j.scalar(x.dataType(), 0.75));
        return new INDArray[] {loss.value(), xt.grad(), wt.grad()};
    }

    /** @return whether {@link Gemm#forEachParallel} spreads work over more than one thread here */
    private static boolean machineRunsInParallel() {
        Set<Thread> seen = ConcurrentHashMap.newKeySet();
        Gemm.forEachParallel(64, i -> {
            seen.add(Thread.currentThread());
            long until = System.nanoTime() + 200_000; // long enough for the workers to pick their chunks up
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
        });
        return seen.size() > 1;
    }

    @Test
    void fusedLossAndGradientsAreTheSameBitsOnAllCoresAsOnOne() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            for (long[] s : SHAPES) {
                INDArray x = uniform(1, type, 2, s[0], s[1]);
                INDArray w = uniform(2, type, 1, s[2], s[1]);
                INDArray t = targets(3, s[0], s[2]);
                INDArray[] serial = run(new LinearCrossEntropy(t, IGNORE, false), x, w);
                INDArray[] parallel = run(new LinearCrossEntropy(t, IGNORE), x, w);
                for (int i = 0; i < 3; i++) {
                    assertArrayEquals(bits(serial[i]), bits(parallel[i]), type + " " + Arrays.toString(s) + " result " + i);
                }
            }
        }
    }

    @Test
    void unfusedLossAndGradientAreTheSameBitsOnAllCoresAsOnOne() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            for (long[] s : SHAPES) {
                INDArray logits = uniform(4, type, 6, 2, s[0] / 2, s[2]); // [B, T, V]
                INDArray t = targets(5, s[0], s[2]).reshape(2, s[0] / 2);
                INDArray[][] results = new INDArray[2][];
                for (int p = 0; p < 2; p++) {
                    Tensor z = Tensor.parameter(logits.dup());
                    Tensor loss = new CrossEntropy(t, IGNORE, p == 1).apply(z);
                    loss.backward(Nd4j.scalar(type, 1.25));
                    results[p] = new INDArray[] {loss.value(), z.grad()};
                }
                for (int i = 0; i < 2; i++) {
                    assertArrayEquals(bits(results[0][i]), bits(results[1][i]), type + " " + Arrays.toString(s)
                            + " result " + i);
                }
            }
        }
    }

    /**
     * Records which rows each hook saw and on which threads. When {@code meetSecondThread}, a forward hook waits (for
     * at most 10 s from construction) until hooks have run on two threads, so that a busy machine cannot let one
     * thread take every block.
     */
    private static final class RecordingLoss extends LinearCrossEntropy {
        final AtomicIntegerArray prepared;
        final AtomicIntegerArray finished;
        final Set<Thread> threads = ConcurrentHashMap.newKeySet();
        private final boolean meetSecondThread;
        private final long giveUpAt = System.nanoTime() + 10_000_000_000L;

        RecordingLoss(INDArray targets, boolean meetSecondThread) {
            super(targets, IGNORE);
            prepared = new AtomicIntegerArray((int) targets.length());
            finished = new AtomicIntegerArray((int) targets.length());
            this.meetSecondThread = meetSecondThread;
        }

        @Override
        protected void prepareLogitRows(INDArray logits, long fromRow, long toRow) {
            threads.add(Thread.currentThread());
            while (meetSecondThread && threads.size() < 2 && System.nanoTime() < giveUpAt) {
                Thread.onSpinWait();
            }
            for (long r = fromRow; r < toRow; r++) {
                prepared.incrementAndGet((int) r);
            }
        }

        @Override
        protected void finishGradientRows(INDArray dLogits, long fromRow, long toRow) {
            for (long r = fromRow; r < toRow; r++) {
                assertEquals(1, prepared.get((int) r), "the forward hook saw row " + r + " first");
                finished.incrementAndGet((int) r);
            }
        }
    }

    @Test
    void eachHookSeesEveryRowOnceAndTheRowsRunOnSeveralThreads() {
        boolean parallelMachine = machineRunsInParallel();
        for (long[] s : SHAPES) {
            INDArray t = targets(6, s[0], s[2]);
            RecordingLoss op = new RecordingLoss(t, parallelMachine);
            run(op, uniform(7, DataType.FLOAT, 1, s[0], s[1]), uniform(8, DataType.FLOAT, 1, s[2], s[1]));
            for (int r = 0; r < s[0]; r++) {
                assertEquals(1, op.prepared.get(r), Arrays.toString(s) + " row " + r + " prepared");
                assertEquals(1, op.finished.get(r), Arrays.toString(s) + " row " + r + " finished");
            }
            if (parallelMachine) {
                assertTrue(op.threads.size() > 1, Arrays.toString(s) + ": rows ran on " + op.threads.size()
                        + " thread(s)");
            }
        }
    }

    /** prepareLogitRows zeroes the logits; finishGradientRows doubles dL/dlogits (exact in floating point). */
    private static final class ZeroLogitsDoubleGradient extends LinearCrossEntropy {
        ZeroLogitsDoubleGradient(INDArray targets) {
            super(targets, IGNORE);
        }

        @Override
        protected void prepareLogitRows(INDArray logits, long fromRow, long toRow) {
            long v = logits.size(1);
            Segments.of(logits).asSlice(fromRow * v * 4, (toRow - fromRow) * v * 4).fill((byte) 0);
        }

        @Override
        protected void finishGradientRows(INDArray dLogits, long fromRow, long toRow) {
            MemorySegment m = Segments.of(dLogits);
            long v = dLogits.size(1);
            for (long i = fromRow * v; i < toRow * v; i++) {
                m.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, 2 * m.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i));
            }
        }
    }

    @Test
    void theHooksActBeforeTheLogSumExpAndBeforeTheProducts() {
        long n = 64, c = 24, v = 3_000;
        INDArray x = uniform(9, DataType.FLOAT, 2, n, c);
        INDArray w = uniform(10, DataType.FLOAT, 1, v, c);
        INDArray t = targets(11, n, v);
        INDArray[] hooked = run(new ZeroLogitsDoubleGradient(t), x, w);
        // zero logits: every kept row's loss is log V (the float sum of V ones is exact)
        assertEquals(Math.log(v), hooked[0].getDouble(0), 1e-6);
        // the products read the hooked gradient: dx of uniform logits, doubled, through the same GEMM
        INDArray uniformGradient = Nd4j.createUninitialized(DataType.FLOAT, n, v).assign(1.0 / v);
        long kept = Arrays.stream(t.toLongVector()).filter(e -> e != IGNORE).count();
        for (int r = 0; r < n; r++) {
            long target = t.getLong(r);
            if (target == IGNORE) {
                uniformGradient.getRow(r).assign(0);
            } else {
                uniformGradient.putScalar(r, target, (float) (Math.exp(-Math.log(v)) - 1.0));
            }
        }
        uniformGradient.muli((float) (0.75 / kept)).muli(2);
        INDArray dx = Gemm.mmul(uniformGradient, false, w, false);
        assertArrayEquals(dx.data().asFloat(), hooked[1].data().asFloat(), 1e-6f);
    }

    @Test
    void rowBlocksCoverEveryRowOnceInOrderWhenSerial() {
        for (int rows : new int[] {0, 1, 7, 200, 1_000}) {
            for (long v : new long[] {0, 1, 1_000, 3_000, 40_000}) {
                for (boolean parallel : new boolean[] {false, true}) {
                    AtomicIntegerArray seen = new AtomicIntegerArray(rows);
                    int[] next = {0};
                    CrossEntropy.forEachRowBlock(rows, v, parallel, (from, to) -> {
                        assertTrue(from < to && to <= rows, from + ".." + to);
                        assertTrue(to - from <= Math.max(1, CrossEntropy.BLOCK_ELEMENTS / Math.max(1, v)));
                        if (!parallel) {
                            assertEquals(next[0], from, "serial blocks come in order");
                            next[0] = to;
                        }
                        for (int r = from; r < to; r++) {
                            seen.incrementAndGet(r);
                        }
                    });
                    for (int r = 0; r < rows; r++) {
                        assertEquals(1, seen.get(r), rows + " x " + v + " parallel " + parallel + " row " + r);
                    }
                }
            }
        }
    }
}
