package org.lowbit4j.autograd.ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.lowbit4j.autograd.blas.Gemm;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Elementwise sums, products and copies of same-shape arrays, for the engine's gradient sums and the
 * elementwise primitives: dense C-ordered FLOAT arrays (all three) run a Vector API loop (with scalar twins that
 * tests compare against), spread over the cores in contiguous ranges when large; other arrays run
 * ND4J's own op. Every element is one IEEE operation, so the results are the same bits as ND4J's
 * whichever way the range is split.
 *
 * <p>NOTE: why not ND4J: its pairwise ops ran at about a third of the memory speed here (one OpenMP
 * thread, see the launcher), and a stories15M training step does a few hundred of them.
 *
 * <p>Public for the engine ({@code Tensor}'s gradient sums); user code has no reason to call it.
 */
public final class Elementwise {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private enum Op {
        ADD, MUL
    }

    private Elementwise() {
    }

    /**
     * out = a + b.
     *
     * @param a an array
     * @param b an array of a's shape
     * @param out where the sum goes, of a's shape; may be a or b itself (not a partial overlap)
     * @return out
     * @throws IllegalArgumentException if the shapes differ
     */
    public static INDArray add(INDArray a, INDArray b, INDArray out) {
        return apply(Op.ADD, a, b, out);
    }

    /**
     * out = a * b.
     *
     * @param a an array
     * @param b an array of a's shape
     * @param out where the product goes, of a's shape; may be a or b itself (not a partial overlap)
     * @return out
     * @throws IllegalArgumentException if the shapes differ
     */
    public static INDArray mul(INDArray a, INDArray b, INDArray out) {
        return apply(Op.MUL, a, b, out);
    }

    /**
     * dst = src, element by element.
     *
     * @param src an array
     * @param dst an array of src's shape, not overlapping it
     * @return dst
     * @throws IllegalArgumentException if the shapes differ
     */
    public static INDArray copy(INDArray src, INDArray dst) {
        check(src, dst, dst);
        if (src.length() == 0) {
            return dst;
        }
        if (!fast(src, dst, dst)) {
            return dst.assign(src);
        }
        Buf s = Buf.of(src);
        Buf d = Buf.of(dst);
        MemorySegment.copy(s.segment(), 0, d.segment(), 0, s.segment().byteSize());
        Reference.reachabilityFence(s);
        Reference.reachabilityFence(d);
        return dst;
    }

    private static INDArray apply(Op op, INDArray a, INDArray b, INDArray out) {
        check(a, b, out);
        if (a.length() == 0) {
            return out;
        }
        if (!fast(a, b, out)) {
            return op == Op.ADD ? a.add(b, out) : a.mul(b, out);
        }
        Buf ba = Buf.of(a);
        Buf bb = Buf.of(b);
        Buf bo = Buf.of(out);
        MemorySegment sa = ba.segment();
        MemorySegment sb = bb.segment();
        MemorySegment so = bo.segment();
        long n = a.length();
        Gemm.forEachRange(n, (from, to) -> run(op, sa, sb, so, from, to));
        Reference.reachabilityFence(ba);
        Reference.reachabilityFence(bb);
        Reference.reachabilityFence(bo);
        return out;
    }

    private static void run(Op op, MemorySegment a, MemorySegment b, MemorySegment out, long from, long to) {
        if (op == Op.ADD) {
            add(a, b, out, from, to);
        } else {
            mul(a, b, out, from, to);
        }
    }

    private static void check(INDArray a, INDArray b, INDArray out) {
        if (!Arrays.equals(a.shape(), b.shape()) || !Arrays.equals(a.shape(), out.shape())) {
            throw new IllegalArgumentException("elementwise: shapes differ: " + Arrays.toString(a.shape()) + ", "
                    + Arrays.toString(b.shape()) + " -> " + Arrays.toString(out.shape()));
        }
    }

    private static boolean fast(INDArray a, INDArray b, INDArray out) {
        return a.dataType() == DataType.FLOAT && b.dataType() == DataType.FLOAT
                && out.dataType() == DataType.FLOAT && Shapes.isDenseC(a) && Shapes.isDenseC(b) && Shapes.isDenseC(out);
    }

    /** out[i] = a[i] + b[i] for i in [from, to). */
    static void add(MemorySegment a, MemorySegment b, MemorySegment out, long from, long to) {
        long i = from;
        for (long bound = from + S.loopBound(to - from); i < bound; i += S.length()) {
            FloatVector.fromMemorySegment(S, a, i * 4, ORDER).add(FloatVector.fromMemorySegment(S, b, i * 4, ORDER))
                    .intoMemorySegment(out, i * 4, ORDER);
        }
        for (; i < to; i++) {
            out.setAtIndex(F32, i, a.getAtIndex(F32, i) + b.getAtIndex(F32, i));
        }
    }

    /** Scalar twin of {@link #add(MemorySegment, MemorySegment, MemorySegment, long, long)}. */
    static void addScalar(MemorySegment a, MemorySegment b, MemorySegment out, long from, long to) {
        for (long i = from; i < to; i++) {
            out.setAtIndex(F32, i, a.getAtIndex(F32, i) + b.getAtIndex(F32, i));
        }
    }

    /** out[i] = a[i] * b[i] for i in [from, to). */
    static void mul(MemorySegment a, MemorySegment b, MemorySegment out, long from, long to) {
        long i = from;
        for (long bound = from + S.loopBound(to - from); i < bound; i += S.length()) {
            FloatVector.fromMemorySegment(S, a, i * 4, ORDER).mul(FloatVector.fromMemorySegment(S, b, i * 4, ORDER))
                    .intoMemorySegment(out, i * 4, ORDER);
        }
        for (; i < to; i++) {
            out.setAtIndex(F32, i, a.getAtIndex(F32, i) * b.getAtIndex(F32, i));
        }
    }

    /** Scalar twin of {@link #mul(MemorySegment, MemorySegment, MemorySegment, long, long)}. */
    static void mulScalar(MemorySegment a, MemorySegment b, MemorySegment out, long from, long to) {
        for (long i = from; i < to; i++) {
            out.setAtIndex(F32, i, a.getAtIndex(F32, i) * b.getAtIndex(F32, i));
        }
    }
}
