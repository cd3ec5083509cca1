package org.lowbit4j.optim.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.lowbit4j.autograd.blas.NativeArrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A dense float32 window onto an ND4J array, in C (row-major) element order.
 *
 * <p>A C-contiguous FLOAT array is viewed in place (its own native memory, no copy). Anything else (another
 * data type, a strided view, Fortran order) is copied into a fresh C-ordered float32 array; for a writable
 * view {@link #commit} then stores the result back, rounding bf16 targets to nearest-even or stochastically.
 *
 * <p>The view keeps the arrays it reads reachable, so the segment stays valid while the view is in use.
 */
public final class FloatView {
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final INDArray target;
    private final INDArray storage;
    private final MemorySegment segment;
    private final int length;
    private final boolean copied;

    private FloatView(INDArray target, INDArray storage, MemorySegment segment, int length, boolean copied) {
        this.target = target;
        this.storage = storage;
        this.segment = segment;
        this.length = length;
        this.copied = copied;
    }

    /**
     * @param arr any floating-point array of at most {@code Integer.MAX_VALUE - 16} elements
     * @param what names the array in error messages (e.g. {@code "gradient of layers.0.wq"})
     * @return a float32 view: in place when possible, else a copy
     * @throws IllegalArgumentException for a non-floating-point or too large array
     */
    public static FloatView of(INDArray arr, String what) {
        if (!arr.dataType().isFPType()) {
            throw new IllegalArgumentException(what + ": expected a floating-point array, got " + arr.dataType());
        }
        long n = arr.length();
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(what + ": " + n + " elements, at most " + (Integer.MAX_VALUE - 16)
                    + " supported per tensor");
        }
        if (arr.dataType() == DataType.FLOAT && isDenseC(arr)) {
            return new FloatView(arr, arr, segmentOf(arr), (int) n, false);
        }
        INDArray copy;
        if (arr.dataType() == DataType.BFLOAT16 && isDenseC(arr)) {
            // Exact and faster than a cast op: a bf16 is the top half of a float32.
            copy = org.nd4j.linalg.factory.Nd4j.createUninitialized(DataType.FLOAT, arr.shape(), 'c');
            MemorySegment src = segmentOf(arr);
            MemorySegment dst = segmentOf(copy);
            for (long i = 0; i < n; i++) {
                dst.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, Bf16.toFloat(src.getAtIndex(SHORT, i)));
            }
        } else {
            copy = arr.castTo(DataType.FLOAT).dup('c');
        }
        return new FloatView(arr, copy, segmentOf(copy), (int) n, true);
    }

    /**
     * @param arr an array
     * @return whether its elements lie contiguously in C order in its buffer (size-1 dimensions ignored)
     */
    public static boolean isDenseC(INDArray arr) {
        long[] shape = arr.shape();
        long[] stride = arr.stride();
        long expected = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1 && stride[d] != expected) {
                return false;
            }
            expected *= shape[d];
        }
        return true;
    }

    /**
     * @param arr a C-contiguous array (see {@link #isDenseC})
     * @return its elements as a native segment of {@code length * elementSize} bytes
     */
    @SuppressWarnings("restricted") // the segment spans exactly the array's own elements
    public static MemorySegment segmentOf(INDArray arr) {
        long elem = arr.dataType().width();
        // NativeArrays.address knows ND4J's view convention (the buffer already carries the offset).
        return MemorySegment.ofAddress(NativeArrays.address(arr)).reinterpret(arr.length() * elem);
    }

    /** @return the float32 elements, {@code 4 * length()} bytes */
    public MemorySegment segment() {
        return segment;
    }

    /** @return the number of elements */
    public int length() {
        return length;
    }

    /** @return true when the view is a copy that {@link #commit} must store back */
    public boolean isCopy() {
        return copied;
    }

    /**
     * Stores a modified copy back into the viewed array (nothing to do for an in-place view).
     *
     * @param stochastic for a bf16 target: round stochastically instead of to nearest-even
     * @param seed random stream seed (stochastic rounding only)
     * @param step optimizer step (stochastic rounding only; each step draws fresh bits)
     * @param paramIndex parameter index (stochastic rounding only; each parameter draws its own bits)
     */
    public void commit(boolean stochastic, long seed, long step, int paramIndex) {
        if (!copied) {
            return;
        }
        if (target.dataType() == DataType.BFLOAT16 && isDenseC(target)) {
            MemorySegment dst = segmentOf(target);
            long stream = Bf16.stream(seed, step, paramIndex);
            for (int i = 0; i < length; i++) {
                float f = segment.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                short b = stochastic ? Bf16.roundStochastic(f, Bf16.randomBits(stream, i)) : Bf16.roundNearest(f);
                dst.setAtIndex(SHORT, i, b);
            }
        } else {
            target.assign(storage.castTo(target.dataType()));
        }
    }
}
