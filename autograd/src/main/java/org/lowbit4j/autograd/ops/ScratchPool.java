package org.lowbit4j.autograd.ops;

import java.util.ArrayList;
import java.util.List;
import org.lowbit4j.autograd.blas.NativeArrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A per-thread pool of native arrays that a primitive owns privately for at most one
 * forward-to-release lifetime (attention probabilities, the fused classifier's logits), so that
 * the next training step reuses the same memory instead of allocating fresh buffers.
 *
 * <p>NOTE: why: ND4J frees a native buffer only when its Java wrapper is collected, and a fresh
 * buffer costs a page fault per 4 KiB page on first touch; on the virtual machine this was measured
 * on (firecracker), faults cost about 0.7 s per GB, which made allocation churn (the 262 MB logits
 * of a stories15M step, ~1.5 GB per step in all) as expensive as the arithmetic.
 *
 * <p>Contract: {@link #take} hands out an uninitialised C-ordered array that nobody else holds;
 * the taker must never expose it (not as an output, not as a gradient) and must stop using it
 * before {@link #give} returns it (given twice, it is pooled once). Arrays never given back are
 * simply left to the garbage collector; given back on another thread, they join that thread's pool.
 * The pool keeps at most {@link #MAX_POOLED_BYTES} per thread; beyond that, the oldest idle arrays
 * are dropped (to the garbage collector).
 *
 * <p>Public for primitives written outside the engine (the mixed-precision ops keep their bf16 operand
 * copies here); user code has no reason to call it.
 */
public final class ScratchPool {
    /** Upper bound of the bytes one thread keeps idle (a stories15M step needs about 340 MB). */
    static final long MAX_POOLED_BYTES = 1L << 30;

    private static final ThreadLocal<ScratchPool> POOLS = ThreadLocal.withInitial(ScratchPool::new);

    /** Idle dense C-ordered arrays, oldest first; any shape (reshaped on reuse). */
    private final List<INDArray> idle = new ArrayList<>();
    private long idleBytes;

    private ScratchPool() {
    }

    /**
     * @param type FLOAT or DOUBLE (any numeric type works)
     * @param shape the shape wanted
     * @return an uninitialised dense C-ordered array of that shape, exclusively the caller's
     */
    public static INDArray take(DataType type, long... shape) {
        return POOLS.get().takeArray(type, shape);
    }

    /**
     * Returns an array obtained from {@link #take}; null is ignored.
     *
     * @param a the array; the caller must not use it afterwards
     */
    public static void give(INDArray a) {
        if (a != null) {
            POOLS.get().giveArray(a);
        }
    }

    /** @return bytes held idle by this thread's pool (tests) */
    static long idleBytes() {
        return POOLS.get().idleBytes;
    }

    private INDArray takeArray(DataType type, long[] shape) {
        long length = Shapes.count(shape);
        for (int i = 0; i < idle.size(); i++) {
            INDArray c = idle.get(i);
            if (c.dataType() == type && c.length() == length) {
                idle.remove(i);
                idleBytes -= bytes(c);
                return java.util.Arrays.equals(c.shape(), shape) ? c : overRoot(c, shape);
            }
        }
        return Nd4j.createUninitialized(type, shape, 'c');
    }

    private void giveArray(INDArray a) {
        long b = bytes(a);
        if (b == 0 || b > MAX_POOLED_BYTES || a.offset() != 0 || !Shapes.isDenseC(a)) {
            return;
        }
        long address = NativeArrays.address(a);
        for (INDArray c : idle) {
            if (NativeArrays.address(c) == address) {
                return; // given twice
            }
        }
        while (idleBytes + b > MAX_POOLED_BYTES) {
            idleBytes -= bytes(idle.remove(0));
        }
        idle.add(overRoot(a, a.shape()));
        idleBytes += b;
    }

    /**
     * An array of the given shape straight over the root buffer of a (dense, C-ordered, offset 0).
     *
     * <p>NOTE: ND4J's {@code reshape} wraps the buffer in a new buffer object that points to the old one, and
     * some buffer methods walk that chain recursively. A pooled array reshaped on every take and handed back
     * reshaped by its user grew one link per use: after 600 BF16 training steps of a small model the chain was
     * thousands deep and every buffer access walked it (the step ran 20x slower and held 8 GB). Pooled arrays
     * are therefore always rebuilt directly over the root buffer.
     */
    private static INDArray overRoot(INDArray a, long[] shape) {
        var root = a.data().originalDataBuffer() != null ? a.data().originalDataBuffer() : a.data();
        return Nd4j.create(root, shape, Nd4j.getStrides(shape, 'c'), 0, 'c');
    }

    private static long bytes(INDArray a) {
        return a.length() * a.dataType().width();
    }
}
