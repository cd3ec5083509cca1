package org.lowbit4j.optim.kernel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector shapes and code packing shared by the quantized kernels: 16 float/int lanes (and 16 byte lanes) where
 * the machine has 512-bit vectors, else 8 float/int lanes and 8 byte lanes.
 */
final class Lanes {
    /** Float lanes: 512-bit vectors where the machine has them, else 256-bit. */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    /** Int lanes of the same shape as {@link #F}. */
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED.vectorBitSize() >= 512
            ? IntVector.SPECIES_512 : IntVector.SPECIES_256;
    /** Lanes per vector: 8 or 16. */
    static final int LANES = F.length();
    /** Byte lanes, as many as {@link #LANES} (64 or 128 bits). */
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(8 * LANES));
    static final ByteOrder ORDER = ByteOrder.nativeOrder();

    static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class,
            ByteOrder.LITTLE_ENDIAN);
    static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class,
            ByteOrder.LITTLE_ENDIAN);
    /** Bit offsets of the nibbles in a little-endian int: lane k reads nibble {@code k mod 8}. */
    static final IntVector SHIFTS = IntVector.fromArray(I, shifts(), 0);
    /** Lanes 8..15 (none at 8 lanes): they read the second int of the packed codes. */
    static final VectorMask<Integer> HIGH = VectorMask.fromLong(I, LANES == 16 ? 0xFF00L : 0L);

    private Lanes() {
    }

    private static int[] shifts() {
        int[] s = new int[LANES];
        for (int k = 0; k < LANES; k++) {
            s[k] = 4 * (k % 8);
        }
        return s;
    }

    // NOTE: running maxima of non-negative floats (|m|, and v, which is never -0) are kept as UNSIGNED int
    // maxima of the float bits: one instruction instead of the five (three blends) C2 emits for a Math.max
    // lane. For non-negative floats unsigned bit order is float order; a NaN of either sign has bits above
    // every non-negative float, so a NaN lane still wins as it does in Math.max (which NaN, when several
    // meet, is as unspecified as it already was between the vector and scalar paths). The final reduction is
    // an unsigned int maximum too, spelled as a signed MAX of the bits with the sign flipped
    // ((x ^ MIN_VALUE) orders as x does unsigned): a float MAX reduction costs NaN and -0 blends at every
    // step, and reduceLanes(UMAX) returns wrong results on JDK 25.

    // NOTE: the kernels spell out nibble loads and stores inline: a helper that takes or returns a vector
    // and that C2 declines to inline ("callee uses too much stack") boxes the vector on every call.
    // Load of the 4-bit codes of elements [e, e + LANES), e even (the second int only read at 16 lanes):
    //     IntVector.broadcast(I, lo).blend(hi, HIGH).lanewise(LSHR, SHIFTS).and(0xF)
    //     where lo = (int) INT_LE.get(codes, e >> 1), hi = LANES == 16 ? (int) INT_LE.get(codes, (e >> 1) + 4) : 0
    // Store of LANES codes 0..15 there: narrowed to bytes, stored to a scratch byte[LANES], packed by PEXT
    // (a lane reduction would cost several shuffles):
    //     ((ByteVector) code.convertShape(I2B, B, 0)).intoArray(pack, 0);
    //     storeNibbles(codes, e, pack)

    // NOTE: profile pollution. The Vector API's shared methods (FloatVector.lanewise, IntVector.intoArray,
    // AbstractVector.reinterpretAsInts, ...) dispatch on the vector class, and C2 inlines them by type profile
    // where it cannot prove the class; a second vector class seen at such a site in the same JVM (another
    // shape in another kernel) can make C2 box the vectors of a whole loop (measured: the 4-bit step 2x
    // slower after the 8-bit one had run). So every optimizer kernel uses the one shape of F, I and B, and
    // none reinterprets a byte vector as ints. Double vectors converted from floats (F2D) do it too: a clipping
    // kernel written with them made the 8-bit and 4-bit steps 2.3x slower when both ran in one loop (hence
    // ClipKernel's float-only arithmetic); autograd's RowKernels convert F2D, and with its RMSNorm backward in
    // the same JVM some vectors of the 8-bit step are boxed (measured 3-10 MB allocated per stories15M step,
    // about 1 MB with the previous kernel; the step 5-15% slower).

    /**
     * Packs the low nibbles of {@code pack[0, LANES)} (each in 0..15) into {@code codes}, byte k into bits
     * [4k, 4k + 4) from element {@code e} (even) on.
     *
     * @param pack at least {@code LANES} bytes
     */
    static void storeNibbles(byte[] codes, int e, byte[] pack) {
        // NOTE: Long.compress is intrinsified to BMI2 PEXT on x86: one instruction per 8 codes.
        int lo = (int) Long.compress((long) LONG_LE.get(pack, 0), 0x0F0F0F0F0F0F0F0FL);
        if (LANES == 16) {
            int hi = (int) Long.compress((long) LONG_LE.get(pack, 8), 0x0F0F0F0F0F0F0F0FL);
            LONG_LE.set(codes, e >> 1, (lo & 0xFFFFFFFFL) | (long) hi << 32);
        } else {
            INT_LE.set(codes, e >> 1, lo);
        }
    }
}
